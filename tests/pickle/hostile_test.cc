// Hostile pickles: each must end in one InputError with a clear message, never a crash, and
// the parse must not allocate much more than the file's size.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "alloc_counter.h"
#include "docquant/pickle.h"
#include "docquant/setfit.h"
#include "pickle_writer.h"
#include "torch_writer.h"

namespace fs = std::filesystem;
namespace pk = docquant::pickle;

namespace {

struct Case {
  std::string name;
  std::string bytes;
  std::string expect;  // substring of the message
};

std::string rep(const std::string& s, std::size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (std::size_t i = 0; i < n; ++i) out += s;
  return out;
}

void torch_cases(std::vector<Case>& c);

std::vector<Case> corpus() {
  std::vector<Case> c;
  c.push_back({"os_system_protocol0", "cos\nsystem\n(S'echo pwned'\ntR.", "module 'os', name 'system'"});
  c.push_back({"posix_system", "cposix\nsystem\n(S'id'\ntR.", "'posix.system'"});
  c.push_back({"builtins_eval_protocol4",
               PickleWriter().proto(4).global("builtins", "eval").str("__import__('os')").op('\x85').op('R').stop().b,
               "module 'builtins', name 'eval'"});
  c.push_back({"python2_builtin_eval", std::string("\x80\x02" "c__builtin__\neval\nX\x03\x00\x00\x00" "1+1\x85R.", 31),
               "'builtins.eval'"});
  c.push_back({"builtins_getattr", PickleWriter().proto(4).global("builtins", "getattr").stop().b,
               "'builtins.getattr'"});
  c.push_back({"subprocess_check_output",
               PickleWriter().proto(4).global("subprocess", "check_output").mark().str("ls").op('l').op('\x85').op('R').stop().b,
               "module 'subprocess', name 'check_output'"});
  c.push_back({"inst_os_system", "(S'ls'\nios\nsystem\n.", "'os.system'"});
  c.push_back({"global_not_allowed_svc",
               PickleWriter().proto(4).global("sklearn.svm._classes", "SVC").op(')').op('\x81').stop().b,
               "'sklearn.svm._classes.SVC'"});
  c.push_back({"numpy_load_not_allowed", PickleWriter().proto(4).global("numpy", "load").stop().b, "'numpy.load'"});
  c.push_back({"torch_rebuild_qtensor", PickleWriter().proto(2).global("torch._utils", "_rebuild_qtensor").stop().b,
               "module 'torch._utils', name '_rebuild_qtensor'"});
  c.push_back({"memo_index_out_of_range", "\x80\x02h\x05.", "memo index 5"});
  c.push_back({"long_binget_huge", "\x80\x02N\x94j\xff\xff\xff\xff.", "memo index 4294967295"});
  c.push_back({"recursion_bomb_lists", "\x80\x02" + rep("]", 100000) + rep("a", 99999) + ".", "bytes of memory"});
  c.push_back({"recursion_bomb_nested_lists", "\x80\x02" + rep("](", 200) + rep("e", 200) + ".", "nested more than 64"});
  c.push_back({"recursion_bomb_tuples", "\x80\x02N" + rep("\x85", 100000) + ".", "nested more than 64"});
  c.push_back({"recursion_bomb_dicts", "\x80\x02" + rep("}", 50000) + rep("N\x8c\x01k\x32\x32\x93", 0) +
               rep("(X\x01\x00\x00\x00k", 0) + ".", "bytes of memory"});
  c.push_back({"self_referencing_list", std::string("\x80\x02]q\x00h\x00" "a.", 9), "self-referencing"});
  {
    // A joblib array record claiming 100 GB of float64.
    PickleWriter w;
    w.proto(4).wrapper(12'500'000'000ull, "f8").raw(std::string("\x0f", 1)).raw(std::string(15, '\xff'));
    w.raw(std::string(64, '\0')).stop();
    c.push_back({"claims_100GB_array", w.b, "claims 100000000000 bytes"});
  }
  {
    PickleWriter w;
    w.proto(4).wrapper(1000, "f8").raw(std::string("\x0f", 1)).raw(std::string(15, '\xff'));
    w.raw(std::string(64, '\0')).stop();
    c.push_back({"wrapper_bytes_exceed_file", w.b, "claims 8000 bytes (dtype <f8) but only"});
  }
  {
    PickleWriter w;
    w.proto(4).wrapper(1000, "f8").raw(std::string("\xf0", 1)).raw(std::string(16, '\xff'));
    c.push_back({"wrapper_padding_exceeds_file", w.b, "alignment padding needs 240 bytes"});
  }
  {
    // ndarray state claiming 100 GB with 8 bytes of data.
    PickleWriter w;
    w.proto(2).global("numpy.core.multiarray", "_reconstruct").global("numpy", "ndarray");
    w.integer(0).op('\x85').bytes("b").op('\x87').op('R');
    w.mark().integer(1).long8(12'500'000'000ll).op('\x85').dtype("f8").op('\x89').bytes(std::string(8, '\0')).tuple();
    w.op('b').stop();
    c.push_back({"reconstruct_claims_100GB", w.b, "needs 100000000000 bytes but the pickle holds 8"});
  }
  {
    PickleWriter w;
    w.proto(4).global("joblib.numpy_pickle", "NumpyArrayWrapper").op(')').op('\x81').op('}').mark();
    w.str("subclass").global("numpy", "ndarray").str("shape").long8(1ll << 40).long8(1ll << 40).op('\x86');
    w.str("order").str("C").str("dtype").dtype("f8").op('u').op('b').stop();
    c.push_back({"shape_overflow", w.b, "overflows"});
  }
  c.push_back({"binunicode8_huge", "\x80\x04\x8d" + std::string("\x00\x00\x00\x00\x00\x00\x00\x40", 8) + "abc.",
               "needs 4611686018427387904 bytes but only 4 remain"});
  c.push_back({"binbytes_4GB", std::string("\x80\x03" "B\xff\xff\xff\xff" "abc.", 11), "needs 4294967295 bytes"});
  c.push_back({"long4_huge", std::string("\x80\x02\x8b\xff\xff\xff\x7f" "abc.", 11), "needs 2147483647 bytes"});
  c.push_back({"binstring_negative", std::string("\x80\x02T\xff\xff\xff\xff" "abc.", 11), "negative length"});
  c.push_back({"frame_past_end", std::string("\x80\x04\x95\xff\xff\x00\x00\x00\x00\x00\x00N.", 14), "runs past the end"});
  c.push_back({"persistent_id", std::string("\x80\x02X\x01\x00\x00\x00" "aQ.", 11), "persistent IDs"});
  c.push_back({"extension_opcode", std::string("\x80\x02\x82\x01.", 5), "extension-registry"});
  c.push_back({"reduce_on_non_global", std::string("\x80\x02N)R.", 6), "REDUCE calls a NoneType"});
  c.push_back({"codecs_encode_other_encoding",
               PickleWriter().proto(2).global("_codecs", "encode").str("x").str("rot13").op('\x86').op('R').stop().b,
               "encoding 'rot13'"});
  c.push_back({"complex_dtype", PickleWriter().proto(2).dtype("c16").stop().b, "'c16' is not supported"});
  c.push_back({"datetime_dtype", PickleWriter().proto(2).dtype("M8").stop().b, "is not supported"});
  c.push_back({"protocol_6", std::string("\x80\x06N.", 4), "protocol 6"});
  c.push_back({"stop_on_empty_stack", std::string("\x80\x02.", 3), "STOP with 0 values"});
  c.push_back({"pop_empty", std::string("\x80\x02" "0.", 4), "MARK"});
  c.push_back({"unknown_opcode", std::string("\x80\x02\xff.", 4), "unknown pickle opcode 0xff"});
  c.push_back({"empty_file", "", "file is empty"});
  c.push_back({"text_file", "hello, world\n", "memo index"});
  c.push_back({"mark_bomb", rep("(", 1 << 20), "bytes of memory"});
  c.push_back({"dup_bomb", "\x80\x02N" + rep("2", 4u << 20) + ".", "bytes of memory"});
  c.push_back({"memo_bomb", "\x80\x04N" + rep("\x94", 1u << 20) + ".", "bytes of memory"});
  {
    // Object arrays are nested pickles inside joblib records; a record inside a record inside …
    PickleWriter w;
    w.proto(2);
    for (int i = 0; i < 8; ++i) w.wrapper(1, "O8").proto(2);
    w.stop();
    c.push_back({"nested_object_array_records", w.b, "nested more than 4 deep"});
  }
  torch_cases(c);
  return c;
}

// SetFit's differentiable head: torch's tensor pickles (torch_writer.h), each field wrong.
void torch_cases(std::vector<Case>& c) {
  const auto tensor = [](const std::string& archive, std::vector<std::int64_t> shape, std::vector<std::int64_t> stride,
                         std::int64_t offset = 0) {
    PickleWriter w;
    w.proto(4);
    return torch_tensor(w, archive, std::move(shape), std::move(stride), offset).stop().b;
  };
  TorchStorage ok;
  ok.numel = 8;
  ok.values.assign(8, 0.25f);
  c.push_back({"torch_storage_smaller_than_shape", tensor(ok.legacy(), {3, 4}, {4, 1}),
               "tensor of shape [3, 4] (stride [4, 1], storage_offset 0) reads element 11 but its storage holds 8"});
  c.push_back({"torch_offset_past_storage", tensor(ok.zip(), {2}, {1}, 7), "reads element 8 but its storage holds 8"});
  TorchStorage count = ok;
  count.header_numel = 9;
  c.push_back({"torch_storage_count_disagrees", tensor(count.legacy(), {8}, {1}),
               "holds 9 elements but its persistent ID says 8"});
  TorchStorage shorter = ok;
  shorter.data_override = std::string(20, '\0');
  c.push_back({"torch_storage_data_truncated", tensor(shorter.legacy(), {8}, {1}),
               "torch storage data needs 32 bytes but only 20 remain"});
  c.push_back({"torch_zip_storage_bytes_disagree", tensor(shorter.zip(), {8}, {1}),
               "declares 8 float32 elements (32 bytes) but holds 20 bytes"});
  TorchStorage huge = ok;
  huge.numel = std::int64_t{1} << 40;
  c.push_back({"torch_storage_claims_4TB", tensor(huge.legacy(), {8}, {1}), "remain"});
  c.push_back({"torch_zip_entry_lies_about_size", tensor(ok.zip(4096), {8}, {1}),
               "entry 'archive/data/94711' claims 4128 bytes"});
  c.push_back({"torch_zip_entry_compressed", tensor(ok.zip(0, true), {8}, {1}), "is compressed (method 8)"});
  TorchStorage half = ok;
  half.storage_type = "HalfStorage";
  c.push_back({"torch_half_storage", tensor(half.legacy(), {8}, {1}), "name 'HalfStorage'"});
  TorchStorage view = ok;
  view.view_metadata = true;
  c.push_back({"torch_storage_view", tensor(view.legacy(), {8}, {1}), "field 'view_metadata'"});
  // A storage archive whose own pickle calls _load_from_bytes again (bytes inside bytes).
  TorchStorage nested = ok;
  nested.inner_extra = PickleWriter().global("torch.storage", "_load_from_bytes").bytes(ok.legacy()).op('\x85').op('R').op('0').b;
  c.push_back({"torch_nested_storage_bytes", tensor(nested.legacy(), {8}, {1}), "nested inside another pickle"});
  c.push_back({"torch_storage_not_an_archive", tensor(std::string(64, 'x'), {8}, {1}),
               "neither torch.save's legacy stream nor its zip archive"});
  {
    PickleWriter w;
    w.proto(4).global("torch._utils", "_rebuild_tensor_v2").mark().global("numpy", "dtype").str("f8").op('\x85').op('R');
    w.integer(0).integer(1).op('\x85').integer(1).op('\x85').op('\x89').op('}').tuple().op('R').stop();
    c.push_back({"torch_tensor_of_a_non_storage", w.b, "field 'storage' is a dtype"});
  }
  {
    PickleWriter w;
    w.proto(4).global("torch._utils", "_rebuild_tensor_v2").mark();
    w.global("torch.storage", "_load_from_bytes").bytes(ok.legacy()).op('\x85').op('R');
    w.integer(0).integer(8).op('\x85').integer(1).op('\x85').op('\x89').op('}').str("k").str("hook").op('s').tuple();
    w.op('R').stop();
    c.push_back({"torch_tensor_with_hooks", w.b, "field 'backward_hooks' is not empty"});
  }
}

const std::size_t kBudgetSlack = std::size_t{64} << 10;

}  // namespace

TEST(Hostile, EveryCaseIsOneClearInputError) {
  std::size_t n = 0;
  for (const auto& c : corpus()) {
    SCOPED_TRACE(c.name);
    const std::vector<std::uint8_t> bytes(c.bytes.begin(), c.bytes.end());
    alloc_counter::reset_peak();
    std::string message;
    try {
      pk::parse(bytes, "hostile/" + c.name);
      ADD_FAILURE() << c.name << " parsed without error";
    } catch (const docquant::InputError& e) {
      message = e.what();
    }
    const std::size_t peak = alloc_counter::peak_above_start();
    EXPECT_NE(message.find(c.expect), std::string::npos) << "message: " << message;
    EXPECT_EQ(message.rfind("hostile/" + c.name + ": ", 0), 0u) << "message does not name the file: " << message;
    // The parse's own budget is 1 MiB + 8 x the file size.
    const std::size_t limit = (std::size_t{1} << 20) + 8 * bytes.size() + kBudgetSlack;
    EXPECT_LE(peak, limit);
    std::cout << "[hostile] " << c.name << ": " << bytes.size() << " bytes, peak allocation " << peak
              << " bytes -> " << message.substr(0, 160) << "\n";
    ++n;
  }
  std::cout << "[hostile] " << n << " cases, each one InputError\n";
}

TEST(Hostile, RefusedGlobalsCarryModuleAndName) {
  const std::string b = "cos\nsystem\n(S'echo'\ntR.";
  try {
    pk::parse(std::vector<std::uint8_t>(b.begin(), b.end()), "x.pkl");
    FAIL();
  } catch (const pk::RefusedGlobalError& e) {
    EXPECT_EQ(e.module(), "os");
    EXPECT_EQ(e.name(), "system");
  }
}

TEST(Hostile, EveryTruncationOfTheRealHeadIsAnInputError) {
  const char* shared = std::getenv("DOCQUANT_SHARED");
  const fs::path file = fs::path(shared ? shared : DOCQUANT_DEFAULT_SHARED) / "heads/setfit-sst2-mpnet/model_head.pkl";
  if (!fs::exists(file)) GTEST_SKIP() << file << " is absent (../shared)";
  std::ifstream in(file, std::ios::binary);
  const std::vector<std::uint8_t> all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::size_t peak = 0;
  for (std::size_t len = 0; len < all.size(); ++len) {
    alloc_counter::reset_peak();
    EXPECT_THROW(pk::parse(std::span(all).first(len), "truncated.pkl"), docquant::InputError) << len;
    peak = std::max(peak, alloc_counter::peak_above_start());
  }
  EXPECT_NO_THROW(pk::parse(all, "whole.pkl"));
  std::cout << "[hostile] " << all.size() << " truncations of the real head: each an InputError, peak "
            << peak << " bytes\n";
}

TEST(Hostile, SingleByteCorruptionsNeverCrash) {
  const char* shared = std::getenv("DOCQUANT_SHARED");
  const fs::path file = fs::path(shared ? shared : DOCQUANT_DEFAULT_SHARED) / "heads/setfit-sst2-mpnet/model_head.pkl";
  if (!fs::exists(file)) GTEST_SKIP() << file << " is absent (../shared)";
  std::ifstream in(file, std::ios::binary);
  const std::vector<std::uint8_t> all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::size_t errors = 0, parsed = 0;
  for (std::size_t i = 0; i < 800 && i < all.size(); ++i) {
    for (std::uint8_t v : {0x00, 0xff, 0x7f, 0x80}) {
      auto b = all;
      b[i] = v;
      try {
        pk::parse(b, "corrupt.pkl");
        ++parsed;
      } catch (const docquant::InputError&) {
        ++errors;
      }
    }
  }
  std::cout << "[hostile] single-byte corruptions of the header: " << errors << " InputErrors, " << parsed
            << " still parsed, no crash\n";
}

TEST(Hostile, DecompressionBombIsRefused) {
  std::vector<std::uint8_t> zeros(8u << 20, 0);
  uLongf n = compressBound(zeros.size());
  std::vector<std::uint8_t> z(n);
  ASSERT_EQ(compress2(z.data(), &n, zeros.data(), zeros.size(), 9), Z_OK);
  z.resize(n);
  alloc_counter::reset_peak();
  try {
    pk::decompress_joblib(z, "bomb.pkl", 1u << 20);
    FAIL();
  } catch (const docquant::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("decompresses to more than 1048576 bytes"), std::string::npos) << e.what();
  }
  EXPECT_LE(alloc_counter::peak_above_start(), (2u << 20) + (1u << 16));
  // Truncated and corrupt streams.
  auto cut = z;
  cut.resize(cut.size() / 2);
  EXPECT_THROW(pk::decompress_joblib(cut, "cut.pkl", 64u << 20), docquant::InputError);
  auto bad = z;
  bad[5] ^= 0x55;
  bad[6] ^= 0x55;
  EXPECT_THROW(pk::decompress_joblib(bad, "bad.pkl", 64u << 20), docquant::InputError);
}

TEST(Hostile, FuzzRegressionsStayFixed) {
  const fs::path dir = DOCQUANT_FUZZ_REGRESSIONS;
  if (!fs::exists(dir)) GTEST_SKIP() << "no fuzz regressions recorded in " << dir;
  std::size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::ifstream in(e.path(), std::ios::binary);
    const std::vector<std::uint8_t> b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // The same path as tests/fuzz/pickle_fuzz.cc: decompress, parse, build a head.
    try {
      const auto raw = pk::decompress_joblib(b, e.path().filename().string(), std::size_t{8} << 20);
      const auto v = pk::parse(raw, e.path().filename().string());
      (void)docquant::setfit::Head::from_value(*v, e.path().filename().string());
    } catch (const docquant::Error&) {
    }
    ++n;
  }
  std::cout << "[hostile] " << n << " fuzz regressions replayed\n";
}

// The pickle fuzzer's checked-in torch seeds (tests/cli/broken/make_torch_heads.py --seeds): an
// 8-wide SetFitHead saved by setfit + torch in both storage forms reads as the same head, and
// each hostile version of it is refused naming what is wrong.
TEST(Hostile, TorchSeedsAreOneHeadOrOneNamedRefusal) {
  const fs::path dir = DOCQUANT_PICKLE_SEEDS;
  const auto legacy = docquant::setfit::Head::load(dir / "torch_valid.pkl");
  const auto zip = docquant::setfit::Head::load(dir / "torch_valid_zip.pkl");
  EXPECT_EQ(legacy.kind(), docquant::setfit::HeadKind::setfit_head);
  ASSERT_EQ(legacy.input_width(), 8u);
  std::vector<float> emb(3 * 8);
  for (std::size_t i = 0; i < emb.size(); ++i) emb[i] = static_cast<float>(i % 5) - 2.0f;
  EXPECT_EQ(legacy.predict_proba(emb.data(), 3, 8), zip.predict_proba(emb.data(), 3, 8));
  const std::map<std::string, std::string> refused = {
      {"torch_global.pkl", "'torch._utils._rebuild_from_type'"},
      {"torch_half.pkl", "'torch.HalfStorage'"},
      {"torch_storage_count.pkl", "holds 17 elements but its persistent ID says 16"},
      {"torch_zip_size.pkl", "entry 'archive/data/0' claims 4160 bytes"},
      {"torch_nested_bytes.pkl", "torch storage bytes nested inside another pickle's data"},
      {"torch_shape.pkl", "torch tensor of shape [3, 8] (stride [8, 1], storage_offset 0) reads element 23"},
      {"torch_fields.pkl", "SetFitHead field 'out_features' (3)"},
  };
  for (const auto& [file, fragment] : refused) {
    try {
      (void)docquant::setfit::Head::load(dir / file);
      ADD_FAILURE() << file << " was accepted";
    } catch (const docquant::InputError& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  }
}
