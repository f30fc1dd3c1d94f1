# tests/engine: each part's non-unit tests live in its own file, owned by one engineer:
# gguf.cmake (GGUF reader, tokenizers), model.cmake (inference engine), peer.cmake (llama.cpp).
include(${CMAKE_CURRENT_LIST_DIR}/gguf.cmake OPTIONAL)
include(${CMAKE_CURRENT_LIST_DIR}/model.cmake OPTIONAL)
include(${CMAKE_CURRENT_LIST_DIR}/peer.cmake OPTIONAL)
