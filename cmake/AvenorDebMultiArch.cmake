# CPACK_POST_BUILD_SCRIPTS step: CPack 3.25's DEB generator has no Multi-Arch
# field, so each built package is unpacked, given the field named in
# CPACK_AVENOR_MULTIARCH (<package>=<value>;...) after its Architecture line,
# and rebuilt with the same contents (root-owned, xz, as CPack made it).
foreach(deb ${CPACK_PACKAGE_FILES})
  if(NOT deb MATCHES "\\.deb$")
    continue()
  endif()
  set(tree ${deb}.tree)
  file(REMOVE_RECURSE ${tree})
  execute_process(COMMAND dpkg-deb -R ${deb} ${tree} COMMAND_ERROR_IS_FATAL ANY)
  file(READ ${tree}/DEBIAN/control control)
  if(NOT control MATCHES "Package: ([^\n]+)")
    message(FATAL_ERROR "${deb}: no Package field")
  endif()
  set(package ${CMAKE_MATCH_1})
  set(value "")
  foreach(entry ${CPACK_AVENOR_MULTIARCH})
    if(entry MATCHES "^${package}=(.+)$")
      set(value ${CMAKE_MATCH_1})
    endif()
  endforeach()
  # A leading newline lets one pattern find a field on the first line too.
  if(value AND NOT "\n${control}" MATCHES "\nMulti-Arch:")
    string(REGEX REPLACE "(\nArchitecture: [^\n]+\n)" "\\1Multi-Arch: ${value}\n" control "\n${control}")
    string(SUBSTRING "${control}" 1 -1 control)
    file(WRITE ${tree}/DEBIAN/control "${control}")
    execute_process(COMMAND dpkg-deb --root-owner-group -Zxz -b ${tree} ${deb}
                    OUTPUT_QUIET COMMAND_ERROR_IS_FATAL ANY)
  endif()
  file(REMOVE_RECURSE ${tree})
endforeach()
