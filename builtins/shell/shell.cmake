# The shell-command analyzer (builtins/shell/README.md): part of reins_builtins.
target_sources(reins_builtins PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/compound.cc
  ${CMAKE_CURRENT_LIST_DIR}/expand.cc
  ${CMAKE_CURRENT_LIST_DIR}/invocation.cc
  ${CMAKE_CURRENT_LIST_DIR}/lexer.cc
  ${CMAKE_CURRENT_LIST_DIR}/parser.cc
  ${CMAKE_CURRENT_LIST_DIR}/unwrap.cc)

reins_test(shell_test
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/shell_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/shell_cases_test.cc
  LIBS reins_builtins)
