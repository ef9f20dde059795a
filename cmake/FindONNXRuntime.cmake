# Finds ONNX Runtime's C/C++ API laid out as Microsoft's release tarball
# (onnxruntime-linux-x64-<version>/{include,lib}).
#
# Set ONNXRUNTIME_ROOT (cache variable or environment) to that folder.
# Defines the imported target ONNXRuntime::onnxruntime and ONNXRuntime_VERSION.
set(ONNXRUNTIME_ROOT "$ENV{ONNXRUNTIME_ROOT}" CACHE PATH "ONNX Runtime release folder (include/, lib/)")

find_path(ONNXRuntime_INCLUDE_DIR onnxruntime_cxx_api.h
  HINTS "${ONNXRUNTIME_ROOT}/include" "${ONNXRUNTIME_ROOT}/include/onnxruntime"
  NO_DEFAULT_PATH)
find_library(ONNXRuntime_LIBRARY onnxruntime
  HINTS "${ONNXRUNTIME_ROOT}/lib"
  NO_DEFAULT_PATH)

if(ONNXRuntime_INCLUDE_DIR AND EXISTS "${ONNXRuntime_INCLUDE_DIR}/onnxruntime_c_api.h")
  file(STRINGS "${ONNXRuntime_INCLUDE_DIR}/onnxruntime_c_api.h" _ort_api_line
       REGEX "^#define ORT_API_VERSION [0-9]+$")
  string(REGEX REPLACE "^#define ORT_API_VERSION ([0-9]+)$" "\\1" ONNXRuntime_API_VERSION "${_ort_api_line}")
endif()
if(EXISTS "${ONNXRUNTIME_ROOT}/VERSION_NUMBER")
  file(READ "${ONNXRUNTIME_ROOT}/VERSION_NUMBER" ONNXRuntime_VERSION)
  string(STRIP "${ONNXRuntime_VERSION}" ONNXRuntime_VERSION)
elseif(ONNXRuntime_API_VERSION)
  set(ONNXRuntime_VERSION "1.${ONNXRuntime_API_VERSION}")
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(ONNXRuntime
  REQUIRED_VARS ONNXRuntime_LIBRARY ONNXRuntime_INCLUDE_DIR
  VERSION_VAR ONNXRuntime_VERSION
  REASON_FAILURE_MESSAGE "set -DONNXRUNTIME_ROOT=<folder with include/ and lib/> (scripts/setup.sh installs one in ~/.cache/docquant)")

if(ONNXRuntime_FOUND AND NOT TARGET ONNXRuntime::onnxruntime)
  add_library(ONNXRuntime::onnxruntime SHARED IMPORTED)
  set_target_properties(ONNXRuntime::onnxruntime PROPERTIES
    IMPORTED_LOCATION "${ONNXRuntime_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${ONNXRuntime_INCLUDE_DIR}")
endif()
mark_as_advanced(ONNXRuntime_INCLUDE_DIR ONNXRuntime_LIBRARY)
