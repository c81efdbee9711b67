# Copies every .weft file under SOURCE_DIR's stdlib/, examples/ and tests/
# into SEED_DIR, named by its path (`tests/conformance/x.weft` becomes
# `tests_conformance_x.weft`), replacing what was there.
file(REMOVE_RECURSE ${SEED_DIR})
file(MAKE_DIRECTORY ${SEED_DIR})
file(GLOB_RECURSE seeds RELATIVE ${SOURCE_DIR}
     ${SOURCE_DIR}/stdlib/*.weft ${SOURCE_DIR}/examples/*.weft
     ${SOURCE_DIR}/tests/*.weft)
foreach(seed ${seeds})
  string(REPLACE "/" "_" flatName ${seed})
  file(COPY_FILE ${SOURCE_DIR}/${seed} ${SEED_DIR}/${flatName})
endforeach()
list(LENGTH seeds count)
message(STATUS "${count} seed files in ${SEED_DIR}")
