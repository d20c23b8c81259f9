# Install components and CPack DEB packages (docs/packaging.md). One `cpack`
# run in a build configured by scripts/package.sh gives every package:
#   avenor                      component host:  the executable, docs, man page, completions
#   avenor-plugin-<plugin>      component plugin-<folder>, one per plugins/<folder>
#   libavenor-plugin-dev        component dev:   ABI + SDK headers, CMake package, example
# The plugin packages are derived from plugins/CMakeLists.txt (global property
# AVENOR_PLUGIN_COMPONENTS), so a new plugin folder is packaged without edits here.

set(AVENOR_PACKAGING_DIR ${PROJECT_SOURCE_DIR}/packaging)

# The Debian version comes from the top entry of packaging/changelog, so the
# changelog and the control files cannot disagree.
file(STRINGS ${AVENOR_PACKAGING_DIR}/changelog _avenor_changelog_top LIMIT_COUNT 1)
if(NOT _avenor_changelog_top MATCHES "^avenor \\(([^-)]+)-([^)]+)\\)")
  message(FATAL_ERROR "packaging/changelog: first line is not \"avenor (<version>-<revision>) ...\"")
endif()
set(AVENOR_DEB_UPSTREAM_VERSION ${CMAKE_MATCH_1})
set(AVENOR_DEB_REVISION ${CMAKE_MATCH_2})
if(NOT AVENOR_DEB_UPSTREAM_VERSION STREQUAL PROJECT_VERSION)
  message(WARNING "packaging/changelog is at ${AVENOR_DEB_UPSTREAM_VERSION}, the project at ${PROJECT_VERSION}")
endif()

# The ABI virtual package follows the ABI major of the SDK header: a plugin
# built for ABI 1 depends on avenor-abi-1, which only a host of ABI 1 provides.
file(STRINGS ${PROJECT_SOURCE_DIR}/sdk/include/avenor/abi/plugin_abi.h _avenor_abi_line
     REGEX "^#define AVENOR_ABI_MAJOR ")
if(NOT _avenor_abi_line MATCHES "AVENOR_ABI_MAJOR ([0-9]+)")
  message(FATAL_ERROR "plugin_abi.h: no AVENOR_ABI_MAJOR")
endif()
set(AVENOR_ABI_PACKAGE avenor-abi-${CMAKE_MATCH_1})

# gzip -9n at configure time (no name or time stamp: the same bytes on every
# build and every architecture, as Multi-Arch: same needs).
function(avenor_gzip src dst)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${src})
  execute_process(COMMAND gzip -9n -c ${src} OUTPUT_FILE ${dst} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "gzip ${src} failed")
  endif()
endfunction()

set(_gz ${CMAKE_BINARY_DIR}/packaging)
file(MAKE_DIRECTORY ${_gz})
avenor_gzip(${PROJECT_SOURCE_DIR}/docs/man/avenor.1 ${_gz}/avenor.1.gz)

# The host package: man page, completions and the documentation. Installed by
# every `cmake --install`, not only for packages.
install(FILES ${_gz}/avenor.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT host)
install(FILES ${AVENOR_PACKAGING_DIR}/completions/avenor.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME avenor COMPONENT host)
install(FILES ${AVENOR_PACKAGING_DIR}/completions/_avenor
        DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions COMPONENT host)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/avenor COMPONENT host)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/avenor/docs
        COMPONENT host PATTERN man EXCLUDE)

get_property(AVENOR_PLUGIN_COMPONENTS GLOBAL PROPERTY AVENOR_PLUGIN_COMPONENTS)

# Debian metadata every package carries in /usr/share/doc/<package>/, and its
# lintian overrides: packaging/lintian/common plus packaging/lintian/<package>
# if there is one (each tag explained by a comment there).
function(avenor_deb_docs component package)
  install(FILES ${AVENOR_PACKAGING_DIR}/copyright ${_gz}/changelog.Debian.gz
          DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${package} COMPONENT ${component})
  file(READ ${AVENOR_PACKAGING_DIR}/lintian/common overrides)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${AVENOR_PACKAGING_DIR}/lintian/common)
  if(EXISTS ${AVENOR_PACKAGING_DIR}/lintian/${package})
    file(READ ${AVENOR_PACKAGING_DIR}/lintian/${package} own)
    string(APPEND overrides "\n${own}")
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${AVENOR_PACKAGING_DIR}/lintian/${package})
  endif()
  file(WRITE ${_gz}/lintian/${package} "${overrides}")
  install(FILES ${_gz}/lintian/${package}
          DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides COMPONENT ${component})
endfunction()

avenor_gzip(${AVENOR_PACKAGING_DIR}/changelog ${_gz}/changelog.Debian.gz)
avenor_gzip(${PROJECT_SOURCE_DIR}/CHANGELOG.md ${_gz}/changelog.gz)
avenor_deb_docs(host avenor)
install(FILES ${_gz}/changelog.gz DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/avenor COMPONENT host)
avenor_deb_docs(dev libavenor-plugin-dev)
foreach(entry ${AVENOR_PLUGIN_COMPONENTS})
  string(REPLACE "=" ";" pair ${entry})
  list(GET pair 0 component)
  list(GET pair 1 plugin)
  avenor_deb_docs(${component} avenor-plugin-${plugin})
endforeach()

# ---- CPack ----------------------------------------------------------------
set(AVENOR_PACKAGE_MAINTAINER "avenor maintainers <maintainers@avenor.example.org>"
    CACHE STRING "Maintainer field of the Debian packages")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME avenor)
set(CPACK_PACKAGE_VERSION ${AVENOR_DEB_UPSTREAM_VERSION})
set(CPACK_PACKAGE_VENDOR "the avenor authors")
# CPack prepends a non-default summary to every component's description; each
# CPACK_DEBIAN_<COMPONENT>_DESCRIPTION below starts with its own synopsis line.
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${CMAKE_PROJECT_NAME} built using CMake")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${AVENOR_DEB_REVISION})
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${AVENOR_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_COMPONENTS_ALL host dev)

set(CPACK_DEBIAN_HOST_PACKAGE_NAME avenor)
set(CPACK_DEBIAN_HOST_PACKAGE_PROVIDES ${AVENOR_ABI_PACKAGE})
set(CPACK_DEBIAN_HOST_DESCRIPTION "${PROJECT_DESCRIPTION}
avenor runs one coding-agent session (or a multi-phase loop) on a backend,
writes what happens as NDJSON events, answers permission requests by policy
and exposes a control socket; a supervisor and an MCP server drive many runs.
Each backend (opencode, codex, gemini, cursor, pi, Claude Code) is a plugin
shipped in its own avenor-plugin-* package; avenor doctor names the package
of a missing one.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libavenor-plugin-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_SHLIBDEPS OFF)  # headers and CMake files only
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "libboost-json1.81-dev")
set(CPACK_DEBIAN_DEV_PACKAGE_SUGGESTS "cmake (>= 3.25), g++ (>= 4:12)")
set(CPACK_DEBIAN_DEV_DESCRIPTION "SDK for building avenor backend plugins
The C ABI header of avenor plugins (${AVENOR_ABI_PACKAGE}), the header-only
C++ SDK over it, the CMake package (find_package(avenor) and
avenor_add_plugin()) and a complete example plugin in
/usr/share/avenor/examples/echo-backend.")

foreach(entry ${AVENOR_PLUGIN_COMPONENTS})
  string(REPLACE "=" ";" pair ${entry})
  list(GET pair 0 component)
  list(GET pair 1 plugin)
  string(TOUPPER ${component} C)
  list(APPEND CPACK_COMPONENTS_ALL ${component})
  set(CPACK_DEBIAN_${C}_PACKAGE_NAME avenor-plugin-${plugin})
  set(CPACK_DEBIAN_${C}_PACKAGE_DEPENDS ${AVENOR_ABI_PACKAGE})
  set(CPACK_DEBIAN_${C}_DESCRIPTION "avenor backend plugin ${plugin}
The ${plugin} backend of avenor as a plugin the host loads from
${CMAKE_INSTALL_FULL_LIBDIR}/avenor/plugins. It needs a host of plugin
ABI ${AVENOR_ABI_PACKAGE} (package avenor) and the backend's own CLI,
which avenor doctor checks.")
endforeach()

# CPack 3.25 cannot write Multi-Arch; cmake/AvenorDebMultiArch.cmake adds it
# to each built package. host: foreign (a command; any architecture serves);
# plugins and SDK: same (files under lib/<multiarch>, identical elsewhere).
set(CPACK_AVENOR_MULTIARCH avenor=foreign libavenor-plugin-dev=same)
foreach(entry ${AVENOR_PLUGIN_COMPONENTS})
  string(REGEX REPLACE "^[^=]*=" "" plugin ${entry})
  list(APPEND CPACK_AVENOR_MULTIARCH avenor-plugin-${plugin}=same)
endforeach()
set(CPACK_POST_BUILD_SCRIPTS ${PROJECT_SOURCE_DIR}/cmake/AvenorDebMultiArch.cmake)

include(CPack)
