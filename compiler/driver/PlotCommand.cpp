// `weft plot METRICS... -o FILE.png`: the loss curves of one or more
// metrics files (the JSON lines `weft train --metrics` writes), drawn with
// PLplot's cairo PNG driver: training and validation loss against the step
// or the elapsed time, one colour per file.
#include "compiler/driver/Commands.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <plplot/plplot.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include <unistd.h>

namespace weft::driver {

namespace {

/// One curve: x and loss values in file order.
struct Curve {
  std::string label;
  std::vector<double> x, y;
  bool dashed = false; ///< Validation curves are dashed.
};

/// Reads the training and validation curves of one metrics file; an error
/// names the file and line.
bool readCurves(const std::string &path, const std::string &name, bool byTime,
                std::vector<Curve> &curves, std::string *error) {
  std::ifstream in(path);
  if (!in) {
    *error = fmt::format("cannot open the metrics file `{}`", path);
    return false;
  }
  Curve train{name + " train", {}, {}, false};
  Curve validation{name + " validation", {}, {}, true};
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty())
      continue;
    nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
    const char *axis = byTime ? "elapsed_s" : "step";
    if (!record.is_object() || !record.contains(axis) ||
        !record[axis].is_number()) {
      *error = fmt::format("`{}` line {}: not a metrics record with `{}`", path,
                           number, axis);
      return false;
    }
    double x = record[axis].get<double>();
    if (record.contains("train_loss") && record["train_loss"].is_number()) {
      train.x.push_back(x);
      train.y.push_back(record["train_loss"].get<double>());
    }
    if (record.contains("val_loss") && record["val_loss"].is_number()) {
      validation.x.push_back(x);
      validation.y.push_back(record["val_loss"].get<double>());
    }
  }
  for (Curve *curve : {&train, &validation})
    if (!curve->x.empty())
      curves.push_back(std::move(*curve));
  return true;
}

/// The legend's name of each metrics file: its stem, or, when two files
/// share a stem (`a/metrics.jsonl`, `b/metrics.jsonl`), its folder too.
std::vector<std::string> curveNames(const std::vector<std::string> &paths) {
  std::vector<std::string> names;
  for (const std::string &path : paths) {
    std::filesystem::path file(path);
    bool shared = std::count_if(paths.begin(), paths.end(),
                                [&](const std::string &other) {
                                  return std::filesystem::path(other).stem() ==
                                         file.stem();
                                }) > 1;
    std::filesystem::path folder = file.parent_path().filename();
    names.push_back(shared && !folder.empty() ? (folder / file.stem()).string()
                                              : file.stem().string());
  }
  return names;
}

} // namespace

int plotCommand(const PlotOptions &options) {
  std::vector<Curve> curves;
  std::string error;
  std::vector<std::string> names = curveNames(options.metrics);
  for (size_t k = 0; k < options.metrics.size(); ++k)
    if (!readCurves(options.metrics[k], names[k], options.byTime, curves,
                    &error)) {
      std::fprintf(stderr, "weft: error: %s\n", error.c_str());
      return 1;
    }
  std::filesystem::path target(options.output);
  if (target.extension() != ".png") {
    std::fprintf(stderr,
                 "weft: error: `%s`: `weft plot` writes PNG images; name "
                 "the file `.png`\n",
                 options.output.c_str());
    return 1;
  }
  std::filesystem::path folder =
      target.has_parent_path() ? target.parent_path() : ".";
  if (!std::filesystem::is_directory(folder)) {
    std::fprintf(stderr,
                 "weft: error: cannot write `%s`: the folder `%s` "
                 "does not exist\n",
                 options.output.c_str(), folder.string().c_str());
    return 1;
  }
  // PLplot would abort the process on a file it cannot open.
  if (::access(folder.c_str(), W_OK) != 0) {
    std::fprintf(stderr, "weft: error: cannot write `%s`: %s\n",
                 options.output.c_str(), std::strerror(errno));
    return 1;
  }
  if (curves.empty()) {
    std::fprintf(stderr, "weft: error: no losses to plot in %s\n",
                 fmt::format("{}", fmt::join(options.metrics, ", ")).c_str());
    return 1;
  }
  double xMin = std::numeric_limits<double>::infinity(), xMax = -xMin;
  double yMin = xMin, yMax = -xMin;
  for (const Curve &curve : curves)
    for (size_t i = 0; i < curve.x.size(); ++i) {
      if (!std::isfinite(curve.y[i]))
        continue;
      xMin = std::min(xMin, curve.x[i]);
      xMax = std::max(xMax, curve.x[i]);
      yMin = std::min(yMin, curve.y[i]);
      yMax = std::max(yMax, curve.y[i]);
    }
  if (xMax <= xMin)
    xMax = xMin + 1;
  double margin = std::max(0.05 * (yMax - yMin), 1e-3);

  plsdev("pngcairo");
  plsfnam(options.output.c_str());
  plspage(0, 0, 1200, 750, 0, 0);
  plscolbg(255, 255, 255); // colour 0, the background: white
  plscol0(15, 0, 0, 0);    // colour 15, axes and text: black
  plinit();
  plcol0(15);
  plenv(xMin, xMax, yMin - margin, yMax + margin, 0, 2);
  pllab(options.byTime ? "seconds" : "step", "loss (nats per token)",
        "weft training");
  const PLINT colours[] = {1, 9, 3, 8, 13, 4, 10, 2};
  std::vector<std::string> labels;
  for (size_t k = 0; k < curves.size(); ++k) {
    const Curve &curve = curves[k];
    plcol0(colours[(k / 2) % 8]);
    pllsty(curve.dashed ? 2 : 1);
    plwidth(2);
    plline(static_cast<PLINT>(curve.x.size()), curve.x.data(), curve.y.data());
    labels.push_back(curve.label);
  }
  // The legend, top right, one entry per curve.
  std::vector<PLINT> types(curves.size(), PL_LEGEND_LINE), lineColours,
      lineStyles, textColours(curves.size(), 15);
  std::vector<PLFLT> widths(curves.size(), 2);
  std::vector<const char *> texts;
  for (size_t k = 0; k < curves.size(); ++k) {
    lineColours.push_back(colours[(k / 2) % 8]);
    lineStyles.push_back(curves[k].dashed ? 2 : 1);
    texts.push_back(labels[k].c_str());
  }
  PLFLT legendWidth, legendHeight;
  pllsty(1);
  pllegend(&legendWidth, &legendHeight,
           PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
           PL_POSITION_TOP | PL_POSITION_RIGHT | PL_POSITION_INSIDE, 0.02, 0.02,
           0.1, 0, 0, 1, 0, 0, static_cast<PLINT>(curves.size()), types.data(),
           1.0, 1.0, 2.0, 1.0, textColours.data(), texts.data(), nullptr,
           nullptr, nullptr, nullptr, lineColours.data(), lineStyles.data(),
           widths.data(), nullptr, nullptr, nullptr, nullptr);
  plend();
  if (!std::filesystem::exists(options.output)) {
    std::fprintf(stderr, "weft: error: could not write `%s`\n",
                 options.output.c_str());
    return 1;
  }
  std::printf("wrote %s\n", options.output.c_str());
  return 0;
}

} // namespace weft::driver
