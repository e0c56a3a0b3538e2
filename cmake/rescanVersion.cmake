# Reads rescan's version from include/rescan/version.hpp, the single source of truth.
#
#   rescan_read_version(<header> <out_var>)
#
# sets <out_var> to "MAJOR.MINOR.PATCH" taken from the RESCAN_VERSION_MAJOR / _MINOR / _PATCH lines.
# Included before project(), so it uses nothing that needs a language.
function(rescan_read_version header out_var)
  file(STRINGS "${header}" lines REGEX "^#define RESCAN_VERSION_(MAJOR|MINOR|PATCH) +[0-9]+ *$")
  set(parts)
  foreach(part IN ITEMS MAJOR MINOR PATCH)
    if(NOT lines MATCHES "#define RESCAN_VERSION_${part} +([0-9]+)")
      message(FATAL_ERROR "rescan: no '#define RESCAN_VERSION_${part} <number>' line in ${header}")
    endif()
    list(APPEND parts "${CMAKE_MATCH_1}")
  endforeach()
  list(JOIN parts "." version)
  set(${out_var} "${version}" PARENT_SCOPE)
endfunction()
