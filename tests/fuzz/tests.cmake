# Replay every fuzz target's corpus (fuzz/corpus/NAME/*) as an ordinary test under the current
# build's sanitizers: tests/fuzz/replay_main.c feeds each file to LLVMFuzzerTestOneInput.
file(GLOB fuzzers CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/fuzz/fuzz_*.c)
foreach(src ${fuzzers})
  get_filename_component(name ${src} NAME_WE)
  string(REGEX REPLACE "^fuzz_" "" short ${name})
  add_executable(replay_${short} ${src} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/replay_main.c)
  target_link_libraries(replay_${short} PRIVATE amlab_lib)
  add_test(NAME fuzz/replay_${short}
           COMMAND replay_${short} ${CMAKE_SOURCE_DIR}/fuzz/corpus/${short})
  set_tests_properties(fuzz/replay_${short} PROPERTIES ENVIRONMENT "${AMLAB_TEST_ENV}" LABELS fuzz)
endforeach()
