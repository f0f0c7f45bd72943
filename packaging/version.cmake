# Writes the version header (cmake -P, run on every build by the xk_version target).
# In: SOURCE_DIR, TEMPLATE, OUTPUT, PROJECT_VERSION. configure_file rewrites OUTPUT only
# when the text changes, so an unchanged commit rebuilds nothing.
set(XK_GIT_COMMIT unknown)
find_program(GIT git)
# Only this tree's own checkout: a tarball unpacked inside another repository is "unknown".
if(GIT AND EXISTS "${SOURCE_DIR}/.git")
  execute_process(COMMAND ${GIT} -C "${SOURCE_DIR}" rev-parse --short HEAD
                  OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE rc ERROR_QUIET)
  if(rc EQUAL 0 AND commit)
    set(XK_GIT_COMMIT "${commit}")
    # --no-optional-locks: other builds and commits share this tree; never take its index lock.
    execute_process(COMMAND ${GIT} --no-optional-locks -C "${SOURCE_DIR}" status --porcelain
                            --untracked-files=no
                    OUTPUT_VARIABLE changes RESULT_VARIABLE rc ERROR_QUIET)
    if(rc EQUAL 0 AND NOT changes STREQUAL "")
      string(APPEND XK_GIT_COMMIT "-dirty")
    endif()
  endif()
endif()
configure_file("${TEMPLATE}" "${OUTPUT}" @ONLY)
