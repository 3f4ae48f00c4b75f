# Compiles SOURCE with CXX and fails unless the compiler refuses it and the first error it
# prints holds the text of the source's `// expect: ` line.
file(STRINGS ${SOURCE} first LIMIT_COUNT 1)
string(REGEX REPLACE "^// expect: " "" expected "${first}")
execute_process(COMMAND ${CXX} -std=c++20 -fsyntax-only -I${INCLUDE} ${SOURCE}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "${SOURCE} compiled, but must not")
endif()
string(REGEX MATCH "[^\n]*error:[^\n]*" first_error "${err}")
string(FIND "${first_error}" "${expected}" at)
if(at EQUAL -1)
  string(SUBSTRING "${err}" 0 3000 head)
  message(FATAL_ERROR "${SOURCE}: the first error does not say \"${expected}\":\n${head}")
endif()
message(STATUS "refused as expected: ${first_error}")
