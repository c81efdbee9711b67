// Tests of corpus loading: the UTF-8 test, the walk order, what is skipped,
// the vocabulary and split, and every error message.

#include "runtime/Corpus.h"
#include "tests/runtime/TempDir.h"

#include <filesystem>
#include <gtest/gtest.h>

using namespace weft::runtime;
using weft::runtime::testing::TempDir;
namespace fs = std::filesystem;

TEST(Corpus, IsTextFollowsPythonsStrictDecoder) {
  EXPECT_TRUE(isText(""));
  EXPECT_TRUE(isText("plain ascii\n"));
  EXPECT_TRUE(isText("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  EXPECT_TRUE(isText("\xEF\xBB\xBF"
                     "bom"));
  EXPECT_TRUE(isText("\xED\x9F\xBF"));     // U+D7FF, below the surrogates
  EXPECT_TRUE(isText("\xF4\x8F\xBF\xBF")); // U+10FFFF
  EXPECT_FALSE(isText(std::string("a\0b", 3)));
  EXPECT_FALSE(isText("\xFF"));
  EXPECT_FALSE(isText("\xC0\x80"));         // overlong NUL
  EXPECT_FALSE(isText("\xE0\x80\xAF"));     // overlong slash
  EXPECT_FALSE(isText("\xED\xA0\x80"));     // a surrogate
  EXPECT_FALSE(isText("\xF4\x90\x80\x80")); // above U+10FFFF
  EXPECT_FALSE(isText("\xE2\x82"));         // cut short
  EXPECT_FALSE(isText("\x80"));             // a lone continuation byte
}

TEST(Corpus, ReadsOneFile) {
  TempDir dir;
  std::string path = dir.write("one.txt", "hello");
  std::string error;
  std::optional<Corpus> corpus = loadCorpus(path, &error);
  ASSERT_TRUE(corpus) << error;
  EXPECT_EQ(corpus->vocabulary, (std::vector<uint8_t>{'e', 'h', 'l', 'o'}));
  // int(5 * 0.95) = 4 training tokens.
  EXPECT_EQ(corpus->train, (std::vector<int64_t>{1, 0, 2, 2}));
  EXPECT_EQ(corpus->validation, (std::vector<int64_t>{3}));
  EXPECT_EQ(corpus->files, (std::vector<std::string>{path}));
}

TEST(Corpus, ConcatenatesInSortedFullPathOrder) {
  TempDir dir;
  // '-' < '.' < '/' in byte order, so `a-c.txt` and `a.txt` come before the
  // files inside `a/`, whatever order the folder lists them in.
  dir.write("b.txt", "4");
  dir.write("a/z.txt", "3");
  dir.write("a/y/x.txt", "2");
  dir.write("a.txt", "1");
  dir.write("a-c.txt", "0");
  std::vector<std::string> files;
  std::string error;
  std::optional<std::string> text =
      readCorpusText(dir.root.string(), &files, &error);
  ASSERT_TRUE(text) << error;
  EXPECT_EQ(*text, "01234");
  EXPECT_EQ(files.front(), dir.path("a-c.txt"));
  EXPECT_EQ(files.back(), dir.path("b.txt"));
}

TEST(Corpus, SkipsBinaryFilesAndLinks) {
  TempDir dir;
  std::string text = dir.write("text", "kept");
  dir.write("text.dat", std::string("\0\0\0\x02", 4));
  dir.write("latin1", "caf\xE9");
  dir.write("sub/more", "!");
  fs::create_symlink(text, dir.root / "text.u8");
  fs::create_symlink(dir.root / "sub", dir.root / "linked-folder");
  std::vector<std::string> files;
  std::string error;
  std::optional<std::string> read =
      readCorpusText(dir.root.string(), &files, &error);
  ASSERT_TRUE(read) << error;
  EXPECT_EQ(*read, "!kept");
  EXPECT_EQ(files, (std::vector<std::string>{dir.path("sub/more"), text}));
}

TEST(Corpus, SplitsAtNinetyFivePercent) {
  std::string text(21, 'a');
  Corpus corpus = tokenizeCorpus(text);
  // int(21 * 0.95) = int(19.95) = 19.
  EXPECT_EQ(corpus.train.size(), 19u);
  EXPECT_EQ(corpus.validation.size(), 2u);
  EXPECT_EQ(tokenizeCorpus(std::string(100, 'x')).train.size(), 95u);
}

TEST(Corpus, VocabularyIsSortedDistinctBytes) {
  Corpus corpus = tokenizeCorpus("\xC3\xA9"
                                 "ba\n");
  EXPECT_EQ(corpus.vocabulary,
            (std::vector<uint8_t>{'\n', 'a', 'b', 0xA9, 0xC3}));
  std::vector<int64_t> all = corpus.train;
  all.insert(all.end(), corpus.validation.begin(), corpus.validation.end());
  EXPECT_EQ(all, (std::vector<int64_t>{4, 3, 2, 1, 0}));
}

TEST(Corpus, ReportsErrorsNamingThePath) {
  TempDir dir;
  std::string error;
  std::string missing = dir.path("missing");
  EXPECT_FALSE(loadCorpus(missing, &error));
  EXPECT_EQ(error, missing + ": no such file or folder");

  std::string empty = dir.write("empty.txt", "");
  EXPECT_FALSE(loadCorpus(empty, &error));
  EXPECT_EQ(error, empty + ": file is empty");

  std::string binary = dir.write("bin/only.dat", std::string("\0x", 2));
  EXPECT_FALSE(loadCorpus(binary, &error));
  EXPECT_EQ(error, binary + ": binary file (a NUL byte or not UTF-8)");
  std::string folder = dir.path("bin");
  EXPECT_FALSE(loadCorpus(folder, &error));
  EXPECT_EQ(error, folder + ": no text files (binary files and links are "
                            "skipped)");

  fs::create_directories(dir.root / "nothing");
  EXPECT_FALSE(loadCorpus(dir.path("nothing"), &error));
  EXPECT_EQ(error.rfind(dir.path("nothing") + ": no text files", 0), 0u);

  std::string link = dir.path("link.txt");
  fs::create_symlink(dir.write("real.txt", "text"), link);
  EXPECT_FALSE(loadCorpus(link, &error));
  EXPECT_EQ(error.rfind(link + ": is a symbolic link", 0), 0u);
}

TEST(Corpus, ReportsUnreadableFiles) {
  TempDir dir;
  std::string locked = dir.write("locked.txt", "secret");
  fs::permissions(locked, fs::perms::none);
  if (std::ifstream(locked).good())
    GTEST_SKIP() << "running with rights that read any file";
  std::string error;
  EXPECT_FALSE(loadCorpus(dir.root.string(), &error));
  EXPECT_EQ(error, locked + ": cannot be read");
}

TEST(Corpus, SkipsTheFortuneIndexes) {
  std::string fortunes = "/usr/share/games/fortunes";
  if (!fs::is_directory(fortunes))
    GTEST_SKIP() << "fortunes are not installed";
  std::string error;
  std::optional<Corpus> corpus = loadCorpus(fortunes, &error);
  ASSERT_TRUE(corpus) << error;
  ASSERT_FALSE(corpus->files.empty());
  for (const std::string &file : corpus->files) {
    EXPECT_NE(fs::path(file).extension(), ".dat") << file;
    EXPECT_FALSE(fs::is_symlink(file)) << file;
  }
  EXPECT_TRUE(std::is_sorted(corpus->files.begin(), corpus->files.end()));
}
