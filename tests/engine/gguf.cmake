# GGUF reader and tokenizer tests that are not plain tests/engine/test_*.c units (owner: gguf).
# gguf_peer: amlab's reader against the gguf PyPI reader on the embedded model and the peer
# vocabularies and the small files of the fuzz corpus (written by make_gguf_corpus.py).
add_executable(gguf_dump ${CMAKE_CURRENT_SOURCE_DIR}/engine/gguf_dump.c)
target_link_libraries(gguf_dump PRIVATE amlab_engine)
set(AMLAB_PEER_TOK_DIR ${AMLAB_SHARED_DIR}/peer-tests/tokenizer)
add_test(NAME engine/gguf_peer
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/engine/gguf_peer.py $<TARGET_FILE:gguf_dump>
                 ${CMAKE_SOURCE_DIR}/models/SmolLM2-135M-Instruct.Q4_1.gguf
                 ${AMLAB_PEER_TOK_DIR}/ggml-vocab-gpt-2.gguf
                 ${AMLAB_PEER_TOK_DIR}/ggml-vocab-llama-spm.gguf
                 ${AMLAB_PEER_TOK_DIR}/ggml-vocab-starcoder.gguf
                 ${AMLAB_PEER_TOK_DIR}/ggml-vocab-deepseek-llm.gguf
                 ${CMAKE_SOURCE_DIR}/fuzz/corpus/gguf/model.gguf
                 ${CMAKE_SOURCE_DIR}/fuzz/corpus/gguf/aligned64.gguf
                 ${CMAKE_SOURCE_DIR}/fuzz/corpus/gguf/vocab-bpe.gguf
                 ${CMAKE_SOURCE_DIR}/fuzz/corpus/gguf/vocab-spm.gguf)
set_tests_properties(engine/gguf_peer PROPERTIES ENVIRONMENT "${AMLAB_TEST_ENV}" LABELS engine
                     TIMEOUT 600)

# The tokenize command on every peer vector (the in-process check is test_tokenizer_peer): the
# shared four, and every vocabulary scripts/setup put in models/peer-vocab/.
add_test(NAME engine/tokenizer_cli_peer
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/engine/tokenizer_cli_peer.py
                 $<TARGET_FILE:amlab> ${AMLAB_PEER_TOK_DIR} gpt-2 llama-spm starcoder deepseek-llm
                 --peer-vocab-dir ${CMAKE_SOURCE_DIR}/models/peer-vocab)
set_tests_properties(engine/tokenizer_cli_peer PROPERTIES ENVIRONMENT "${AMLAB_TEST_ENV}"
                     LABELS engine TIMEOUT 600)

# Every pre-tokenizer against the regular expressions it implements, run by Python's `regex`.
add_executable(pretok_dump ${CMAKE_CURRENT_SOURCE_DIR}/engine/pretok_dump.c)
target_link_libraries(pretok_dump PRIVATE amlab_engine)
add_test(NAME engine/pretok_peer
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/engine/pretok_peer.py
                 $<TARGET_FILE:pretok_dump> ${AMLAB_PEER_TOK_DIR})
set_tests_properties(engine/pretok_peer PROPERTIES ENVIRONMENT "${AMLAB_TEST_ENV}" LABELS engine
                     TIMEOUT 600)

# Byte-level BPE end to end against Hugging Face `tokenizers` for several pre-tokenizers.
add_executable(tok_batch ${CMAKE_CURRENT_SOURCE_DIR}/engine/tok_batch.c)
target_link_libraries(tok_batch PRIVATE amlab_engine)
add_test(NAME engine/tokenizer_hf_peer
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/engine/tokenizer_hf_peer.py
                 $<TARGET_FILE:tok_batch> ${AMLAB_PEER_TOK_DIR}
                 ${CMAKE_SOURCE_DIR}/models/SmolLM2-135M-Instruct.Q4_1.gguf)
set_tests_properties(engine/tokenizer_hf_peer PROPERTIES ENVIRONMENT "${AMLAB_TEST_ENV}"
                     LABELS engine TIMEOUT 600)
