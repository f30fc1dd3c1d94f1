# Inference engine tests that are not plain tests/engine/test_*.c units (owner: model).
# engine_probe exposes dequantization and logits to the numpy reference (ref_model.py).
add_executable(engine_probe ${CMAKE_CURRENT_SOURCE_DIR}/engine/engine_probe.c)
target_link_libraries(engine_probe PRIVATE amlab_engine)
# Dequantization of every tensor type bit for bit against gguf.quants (PyPI gguf).
add_test(NAME engine/model_quant_ref
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/engine/test_model_ref.py quant
                 $<TARGET_FILE:engine_probe> ${CMAKE_SOURCE_DIR}/models/SmolLM2-135M-Instruct.Q4_1.gguf)
# Random-weight models of every architecture against the numpy reference.
add_test(NAME engine/model_arch_ref
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/engine/test_model_ref.py arch
                 $<TARGET_FILE:engine_probe> ${CMAKE_SOURCE_DIR}/models/SmolLM2-135M-Instruct.Q4_1.gguf)
# The embedded model over 512 positions against the numpy reference. A full 135M-parameter
# model over 512 positions (and 64 greedy steps) takes minutes under ASan on 2 shared cores, so
# this one check uses engine_probe_fast: the same engine sources compiled -O2 without
# sanitizers (the kernels themselves run under ASan in test_kernels and model_arch_ref).
file(GLOB AMLAB_PROBE_FAST_SRCS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/lib/engine/*.c
     ${CMAKE_SOURCE_DIR}/lib/core/*.c)
add_executable(engine_probe_fast ${CMAKE_CURRENT_SOURCE_DIR}/engine/engine_probe.c
                                 ${AMLAB_PROBE_FAST_SRCS})
target_include_directories(engine_probe_fast PRIVATE ${CMAKE_SOURCE_DIR}/lib/engine
                                                     ${CMAKE_SOURCE_DIR}/lib/core)
target_compile_options(engine_probe_fast PRIVATE -O2 -fno-sanitize=all)
target_link_libraries(engine_probe_fast PRIVATE PkgConfig::JANSSON OpenSSL::Crypto
                      Threads::Threads m)
add_test(NAME engine/model_smollm2_ref
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/engine/test_model_ref.py smollm2
                 $<TARGET_FILE:engine_probe_fast>
                 ${CMAKE_SOURCE_DIR}/models/SmolLM2-135M-Instruct.Q4_1.gguf)
# amlab logprob against the reference; ChatML against jinja2 on SmolLM2's own template.
add_test(NAME engine/model_cli_ref
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/engine/test_model_ref.py cli
                 $<TARGET_FILE:engine_probe> ${CMAKE_SOURCE_DIR}/models/SmolLM2-135M-Instruct.Q4_1.gguf)
# The real Gemma 3 270M when models/gemma-3-270m-q4_k_m.gguf is present (skipped otherwise).
add_test(NAME engine/model_gemma3_ref
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/engine/test_model_ref.py gemma3
                 $<TARGET_FILE:engine_probe_fast> ${CMAKE_SOURCE_DIR}/models/SmolLM2-135M-Instruct.Q4_1.gguf)
set_tests_properties(engine/model_gemma3_ref PROPERTIES SKIP_RETURN_CODE 77)
set_tests_properties(engine/model_quant_ref engine/model_arch_ref engine/model_smollm2_ref
                     engine/model_cli_ref engine/model_gemma3_ref
                     PROPERTIES ENVIRONMENT "${AMLAB_TEST_ENV}" LABELS engine TIMEOUT 600)
# This machine's fastest kernels are AVX-512 VNNI where the CPU has them; the AVX2 ones (what
# other x86 machines run) are checked too: the kernel tests and the random models again with
# AMLAB_CPU=avx2.
add_test(NAME engine/test_kernels_avx2 COMMAND test_kernels)
add_test(NAME engine/model_arch_ref_avx2
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/engine/test_model_ref.py arch
                 $<TARGET_FILE:engine_probe> ${CMAKE_SOURCE_DIR}/models/SmolLM2-135M-Instruct.Q4_1.gguf)
set_tests_properties(engine/test_kernels_avx2 engine/model_arch_ref_avx2
                     PROPERTIES ENVIRONMENT "${AMLAB_TEST_ENV};AMLAB_CPU=avx2" LABELS engine
                     TIMEOUT 600)
