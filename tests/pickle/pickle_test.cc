// What the reader accepts: opcodes of every protocol, numpy and joblib records, the real head.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <unistd.h>

#include "docquant/pickle.h"
#include "pickle_writer.h"
#include "torch_writer.h"

namespace fs = std::filesystem;
namespace pk = docquant::pickle;

namespace {

pk::ValuePtr parse(const std::string& s, const pk::LoadOptions& o = {}) {
  return pk::parse(std::vector<std::uint8_t>(s.begin(), s.end()), "test.pkl", o);
}

std::string f64(double v) {
  std::string s(8, '\0');
  std::memcpy(s.data(), &v, 8);
  return s;
}

fs::path real_head() {
  const char* shared = std::getenv("DOCQUANT_SHARED");
  return fs::path(shared ? shared : DOCQUANT_DEFAULT_SHARED) / "heads/setfit-sst2-mpnet/model_head.pkl";
}

}  // namespace

TEST(Pickle, Protocol0TextOpcodes) {
  const auto v = parse("(lp0\nI1\naI01\naF1.5\naS'ab\\x41\\n'\naVcaf\\u00e9\naL12345678901L\naNa(I7\nI-8\ntp1\nag1\na.");
  const auto& items = v->as_sequence();
  ASSERT_EQ(items.size(), 9u);
  EXPECT_EQ(items[0]->as_int(), 1);
  EXPECT_TRUE(items[1]->is_bool());
  EXPECT_TRUE(items[1]->as_bool());
  EXPECT_EQ(items[2]->as_double(), 1.5);
  EXPECT_EQ(items[3]->as_str(), "abA\n");
  EXPECT_EQ(items[4]->as_str(), "caf\xc3\xa9");
  EXPECT_EQ(items[5]->as_int(), 12345678901);
  EXPECT_TRUE(items[6]->is_none());
  EXPECT_EQ(items[7]->as_sequence()[1]->as_int(), -8);
  EXPECT_EQ(items[7], items[8]);  // memo shares, does not copy
}

TEST(Pickle, Protocol2BinaryOpcodesAndDict) {
  PickleWriter w;
  w.proto(2).op('}').op('q').u8(0).mark();
  w.op('X').le(1, 4).raw("a").op('K').u8(1).op('M').le(300, 2).op('J').le(static_cast<std::uint64_t>(-5), 4).op('\x87');
  w.op('X').le(1, 4).raw("b").op(']').op('q').u8(1).mark().op('N').op('\x88').op('\x89').op('e');
  w.op('X').le(1, 4).raw("c").op('G').raw(std::string("\x3f\xf8\x00\x00\x00\x00\x00\x00", 8));
  w.op('X').le(1, 4).raw("d").op('\x8a').u8(9).raw(std::string("\x00\x00\x00\x00\x00\x00\x00\x80\xff", 9));
  w.op('X').le(1, 4).raw("a").op('C').u8(2).raw("xy");  // repeated key replaces
  w.op('u').stop();
  const auto v = parse(w.b);
  const auto& d = v->as_dict();
  EXPECT_EQ(d.items.size(), 4u);
  EXPECT_TRUE(d.find("a")->is_bytes());
  EXPECT_EQ(d.find("a")->as_bytes().data, "xy");
  EXPECT_EQ(d.find("b")->as_sequence().size(), 3u);
  EXPECT_EQ(d.find("c")->as_double(), 1.5);
  EXPECT_EQ(d.find("d")->as_int(), std::numeric_limits<std::int64_t>::min());
}

TEST(Pickle, Protocol4FramesSetsAndMemoize) {
  PickleWriter w;
  w.proto(4).op('\x95').le(20, 8).op('\x8f').memoize().mark().integer(1).integer(2).op('\x90');
  w.mark().str("x").op('\x91').op('\x86').stop();
  const auto v = parse(w.b);
  const auto& t = v->as_sequence();
  EXPECT_EQ(t[0]->as_sequence().size(), 2u);
  EXPECT_EQ(t[1]->type_name(), "frozenset");
}

TEST(Pickle, Protocol5OutOfBandBuffer) {
  PickleWriter x;
  x.proto(5).global("numpy._core.numeric", "_frombuffer").mark().op('\x97').op('\x98').dtype("f8");
  x.integer(2).op('\x85').str("C").tuple().op('R').stop();
  const std::string buf = f64(1.0) + f64(-2.5);
  pk::LoadOptions o;
  o.out_of_band_buffers.push_back({reinterpret_cast<const std::uint8_t*>(buf.data()), buf.size()});
  const auto v = parse(x.b, o);
  const auto& a = v->as_array();
  EXPECT_EQ(a.shape, (std::vector<std::size_t>{2}));
  EXPECT_EQ(a.as_double(1), -2.5);
  try {
    parse(x.b);
    FAIL();
  } catch (const docquant::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("out-of-band buffer #0"), std::string::npos) << e.what();
  }
}

TEST(Pickle, JoblibRecordWithPaddingBigEndianAndFortran) {
  PickleWriter w;
  w.proto(4).mark();
  w.wrapper(3, "f8").raw("\x03").raw("\xff\xff\xff").raw(f64(1) + f64(2) + f64(3));
  // Big-endian int32 without alignment (older joblib).
  w.global("joblib.numpy_pickle", "NumpyArrayWrapper").op(')').op('\x81').op('}').mark();
  w.str("subclass").global("numpy", "ndarray").str("shape").integer(2).op('\x85').str("order").str("C");
  w.str("dtype").dtype("i4", ">").op('u').op('b').raw(std::string("\x00\x00\x01\x02\xff\xff\xff\xfe", 8));
  // Fortran-ordered 2 x 3 float64: memory order is column by column.
  w.global("joblib.numpy_pickle", "NumpyArrayWrapper").op(')').op('\x81').op('}').mark();
  w.str("subclass").global("numpy", "ndarray").str("shape").integer(2).integer(3).op('\x86').str("order").str("F");
  w.str("dtype").dtype("f8").op('u').op('b');
  for (double d : {1, 4, 2, 5, 3, 6}) w.raw(f64(d));
  w.tuple().stop();
  const auto v = parse(w.b);
  const auto& t = v->as_sequence();
  EXPECT_EQ(t[0]->as_array().to_doubles(), (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(t[1]->as_array().as_int(0), 258);
  EXPECT_EQ(t[1]->as_array().as_int(1), -2);
  EXPECT_TRUE(t[1]->as_array().dtype.big_endian);
  EXPECT_EQ(t[2]->as_array().to_doubles(), (std::vector<double>{1, 2, 3, 4, 5, 6}));
}

TEST(Pickle, RealSetFitHead) {
  if (!fs::exists(real_head())) GTEST_SKIP() << real_head() << " is absent (../shared)";
  const auto v = pk::load_file(real_head());
  ASSERT_TRUE(v->is_object_of("sklearn.linear_model._logistic.LogisticRegression"));
  const auto& o = v->as_object();
  const auto& coef = o.attr("coef_")->as_array();
  EXPECT_EQ(coef.shape, (std::vector<std::size_t>{1, 768}));
  EXPECT_EQ(coef.dtype.str(), "<f8");
  const auto& classes = o.attr("classes_")->as_array();
  EXPECT_EQ(classes.dtype.str(), "<i8");
  EXPECT_EQ(classes.as_int(1), 1);
  EXPECT_EQ(o.attr("multi_class")->as_str(), "auto");
  EXPECT_EQ(o.attr("_sklearn_version")->as_str(), "1.3.2");
  EXPECT_EQ(o.attr("n_features_in_")->as_int(), 768);
}

TEST(Pickle, OldJoblibSideFileArrays) {
  const fs::path dir = fs::temp_directory_path() / ("docquant_npy_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto wrapper_pickle = [](const std::string& filename) {
    PickleWriter w;
    w.proto(2).global("joblib.numpy_pickle_compat", "NDArrayWrapper").op(')').op('\x81').op('}').mark();
    w.str("filename").str(filename).str("subclass").global("numpy", "ndarray").str("allow_mmap").op('\x89');
    return w.op('u').op('b').stop().b;
  };
  std::string header = "{'descr': '>i4', 'fortran_order': False, 'shape': (3,), }";
  header += std::string(128 - 10 - header.size() - 1, ' ') + "\n";
  std::string npy = std::string("\x93NUMPY\x01\x00", 8);
  npy += static_cast<char>(header.size() & 0xff);
  npy += static_cast<char>(header.size() >> 8);
  npy += header + std::string("\x00\x00\x00\x01\x00\x00\x00\x02\xff\xff\xff\xfd", 12);
  std::ofstream(dir / "head.pkl_01.npy", std::ios::binary) << npy;
  std::ofstream(dir / "head.pkl", std::ios::binary) << wrapper_pickle("head.pkl_01.npy");
  const auto v = pk::load_file(dir / "head.pkl");
  const auto& a = v->as_array();
  EXPECT_EQ(a.as_int(0), 1);
  EXPECT_EQ(a.as_int(2), -3);
  std::ofstream(dir / "evil.pkl", std::ios::binary) << wrapper_pickle("../../etc/passwd");
  try {
    pk::load_file(dir / "evil.pkl");
    FAIL();
  } catch (const docquant::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("not a plain file name"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

// torch tensors as SetFit's differentiable head pickles them (torch_writer.h builds the bytes
// as torch writes them; tests/setfit's goldens check real files): both storage formats, and
// the tensor read through its shape, stride and offset.
TEST(Torch, StoragesInBothFormatsGiveTheTensorThroughItsStrides) {
  TorchStorage st;
  st.numel = 12;
  for (int i = 0; i < 12; ++i) st.values.push_back(static_cast<float>(i) + 0.5f);
  struct View {
    std::vector<std::int64_t> shape, stride;
    std::int64_t offset;
    std::vector<float> want;
  };
  const std::vector<View> views = {
      {{3, 4}, {4, 1}, 0, {0.5f, 1.5f, 2.5f, 3.5f, 4.5f, 5.5f, 6.5f, 7.5f, 8.5f, 9.5f, 10.5f, 11.5f}},
      {{4, 3}, {1, 4}, 0, {0.5f, 4.5f, 8.5f, 1.5f, 5.5f, 9.5f, 2.5f, 6.5f, 10.5f, 3.5f, 7.5f, 11.5f}},  // transposed
      {{2, 2}, {4, 1}, 5, {5.5f, 6.5f, 9.5f, 10.5f}},
      {{3}, {1}, 9, {9.5f, 10.5f, 11.5f}},
  };
  for (const std::string& archive : {st.legacy(), st.zip()}) {
    for (const auto& v : views) {
      PickleWriter w;
      w.proto(4);
      torch_tensor(w, archive, v.shape, v.stride, v.offset).stop();
      const auto got = parse(w.b);
      ASSERT_TRUE(got->is_array());
      const auto& a = got->as_array();
      EXPECT_EQ(a.dtype.str(), "<f4");
      EXPECT_EQ(a.shape, std::vector<std::size_t>(v.shape.begin(), v.shape.end()));
      const auto d = a.to_doubles();
      ASSERT_EQ(d.size(), v.want.size());
      for (std::size_t i = 0; i < d.size(); ++i) EXPECT_EQ(d[i], v.want[i]) << i;
    }
  }
}

TEST(Torch, ParameterOrderedDictAndDeviceAreData) {
  TorchStorage st;
  st.numel = 2;
  st.values = {1.0f, -2.0f};
  PickleWriter w;
  w.proto(4).global("collections", "OrderedDict").op(')').op('R');
  w.str("weight").global("torch._utils", "_rebuild_parameter");
  torch_tensor(w, st.legacy(), {2}, {1}).op('\x88').global("collections", "OrderedDict").op(')').op('R');
  w.op('\x87').op('R').op('s');
  w.str("device").global("torch", "device").str("cuda").integer(1).op('\x86').op('R').op('s').stop();
  const auto v = parse(w.b);
  const auto& d = v->as_dict();
  EXPECT_EQ(d.find("weight")->as_array().to_doubles(), (std::vector<double>{1.0, -2.0}));
  EXPECT_EQ(d.find("device")->as_str(), "cuda:1");
}
