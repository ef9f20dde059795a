// The allow-list: which globals a pickle may name, and what "calling" each one builds.
// Nothing here imports or runs anything; each allowed call is a small data constructor.
#include <algorithm>
#include <array>

#include "machine.h"
#include "text.h"

namespace docquant::pickle::detail {
namespace {

enum class Role {
  estimator,          // an allowed class whose instances carry state (sklearn, joblib wrappers)
  object_base,        // builtins.object: only as copyreg._reconstructor's base
  ndarray_class,      // numpy.ndarray: only as an argument
  dtype_ctor,         // numpy.dtype(...)
  reconstruct,        // numpy.core.multiarray._reconstruct
  scalar,             // numpy.core.multiarray.scalar
  frombuffer,         // numpy.core.numeric._frombuffer (protocol 5 arrays)
  reconstructor,      // copyreg._reconstructor
  codecs_encode,      // _codecs.encode(str, "latin1") -> bytes (protocol < 3 bytes)
  make_set,           // builtins.set / frozenset
  make_bytearray,     // builtins.bytearray
  ordered_dict,       // collections.OrderedDict() -> dict (torch modules keep their parts in them)
  torch_parameter,    // torch._utils._rebuild_parameter(tensor, requires_grad, hooks) -> the tensor
  torch_tensor,       // torch._utils._rebuild_tensor_v2(...) -> NDArray (torch.cc)
  torch_storage,      // torch.storage._load_from_bytes(bytes) -> 1-d float32 NDArray (torch.cc)
  storage_type,       // torch.FloatStorage: only inside a storage's persistent ID
  torch_device,       // torch.device(type[, index]) -> str ("cpu", "cuda:0")
};

struct Allowed {
  std::string_view module;
  std::string_view name;
  Role role;
};

constexpr std::array kAllowed{
    Allowed{"sklearn.linear_model._logistic", "LogisticRegression", Role::estimator},
    Allowed{"sklearn.multiclass", "OneVsRestClassifier", Role::estimator},
    Allowed{"sklearn.multiclass", "_ConstantPredictor", Role::estimator},
    Allowed{"sklearn.multioutput", "MultiOutputClassifier", Role::estimator},
    Allowed{"sklearn.multioutput", "ClassifierChain", Role::estimator},
    Allowed{"sklearn.preprocessing._label", "LabelEncoder", Role::estimator},
    Allowed{"sklearn.preprocessing._label", "LabelBinarizer", Role::estimator},
    // SetFit's differentiable head (use_differentiable_head=True): a torch module around one
    // Linear layer, its tensors pickled by torch (torch.cc).
    Allowed{"setfit.modeling", "SetFitHead", Role::estimator},
    Allowed{"torch.nn.modules.linear", "Linear", Role::estimator},
    Allowed{"collections", "OrderedDict", Role::ordered_dict},
    Allowed{"torch._utils", "_rebuild_parameter", Role::torch_parameter},
    Allowed{"torch._utils", "_rebuild_tensor_v2", Role::torch_tensor},
    Allowed{"torch.storage", "_load_from_bytes", Role::torch_storage},
    Allowed{"torch", "FloatStorage", Role::storage_type},
    Allowed{"torch", "device", Role::torch_device},
    Allowed{"joblib.numpy_pickle", "NumpyArrayWrapper", Role::estimator},
    Allowed{"joblib.numpy_pickle_compat", "NDArrayWrapper", Role::estimator},
    Allowed{"numpy", "ndarray", Role::ndarray_class},
    Allowed{"numpy", "dtype", Role::dtype_ctor},
    Allowed{"numpy.core.multiarray", "_reconstruct", Role::reconstruct},
    Allowed{"numpy.core.multiarray", "scalar", Role::scalar},
    Allowed{"numpy.core.numeric", "_frombuffer", Role::frombuffer},
    Allowed{"copyreg", "_reconstructor", Role::reconstructor},
    Allowed{"builtins", "object", Role::object_base},
    Allowed{"builtins", "set", Role::make_set},
    Allowed{"builtins", "frozenset", Role::make_set},
    Allowed{"builtins", "bytearray", Role::make_bytearray},
    Allowed{"_codecs", "encode", Role::codecs_encode},
};

// Module renames across versions: the same class under an older or newer path.
constexpr std::array<std::pair<std::string_view, std::string_view>, 9> kModuleAliases{{
    {"numpy._core.multiarray", "numpy.core.multiarray"},
    {"numpy._core.numeric", "numpy.core.numeric"},
    {"sklearn.linear_model.logistic", "sklearn.linear_model._logistic"},
    {"sklearn.preprocessing.label", "sklearn.preprocessing._label"},
    {"sklearn.externals.joblib.numpy_pickle", "joblib.numpy_pickle"},
    {"sklearn.externals.joblib.numpy_pickle_compat", "joblib.numpy_pickle_compat"},
    {"joblib._numpy_pickle", "joblib.numpy_pickle"},
    {"__builtin__", "builtins"},  // Python 2 names (pickle's fix_imports)
    {"copy_reg", "copyreg"},
}};

const Allowed* find_allowed(const Global& g) {
  for (const auto& a : kAllowed) {
    if (a.module == g.module && a.name == g.name) return &a;
  }
  return nullptr;
}

Role role_of(const Global& g) {
  const Allowed* a = find_allowed(g);
  return a != nullptr ? a->role : Role::estimator;  // resolve_global only lets allowed through
}

void expect_args(const Cursor& cur, const Global& g, const std::vector<ValuePtr>& args,
                 std::size_t min, std::size_t max) {
  if (args.size() < min || args.size() > max) {
    cur.fail(g.qualified() + " called with " + std::to_string(args.size()) + " arguments");
  }
}

MutPtr make_object(Machine& m, const Global& cls, const std::vector<ValuePtr>& args) {
  MutPtr v = m.make(Object{cls, {}, {}}, 64);
  auto& obj = std::get<Object>(Machine::storage(*v));
  for (const auto& a : args) {
    m.adopt(*v, a);
    obj.args.push_back(a);
  }
  return v;
}

}  // namespace

Global resolve_global(const Cursor& cur, std::string module, std::string name, int proto) {
  for (const auto& [from, to] : kModuleAliases) {
    if (module == from && (proto < 3 || (from != "__builtin__" && from != "copy_reg"))) {
      module = std::string(to);
      break;
    }
  }
  Global g{std::move(module), std::move(name)};
  if (find_allowed(g) == nullptr) {
    std::string shown = g.qualified();
    if (shown.size() > 200) shown = shown.substr(0, 200) + "…";
    throw RefusedGlobalError(
        cur.source() + ": offset " + std::to_string(cur.pos()) + ": the pickle refers to '" +
            shown + "' (module '" + g.module.substr(0, 120) + "', name '" + g.name.substr(0, 80) +
            "'), which docquant does not load: only scikit-learn LogisticRegression heads "
            "(alone or in OneVsRestClassifier / MultiOutputClassifier / ClassifierChain), SetFit's "
            "SetFitHead (a torch Linear layer of float32 tensors), LabelEncoder and numpy arrays "
            "are read (docs/pickle.md)",
        g.module, g.name);
  }
  return g;
}

MutPtr new_object(Machine& m, const Global& cls, const std::vector<ValuePtr>& args) {
  if (role_of(cls) != Role::estimator) {
    m.cursor().fail("cannot create an instance of " + cls.qualified() + " this way");
  }
  return make_object(m, cls, args);
}

MutPtr call_global(Machine& m, const Global& fn, const std::vector<ValuePtr>& args) {
  Cursor& cur = m.cursor();
  switch (role_of(fn)) {
    case Role::estimator:
      return make_object(m, fn, args);
    case Role::reconstructor: {  // copyreg._reconstructor(cls, base, state)
      expect_args(cur, fn, args, 3, 3);
      if (!args[0]->is_global()) cur.fail("copyreg._reconstructor without a class");
      if (!args[1]->is_global() || args[1]->as_global().qualified() != "builtins.object" ||
          !args[2]->is_none()) {
        cur.fail("copyreg._reconstructor with a base other than object is not supported");
      }
      return new_object(m, args[0]->as_global(), {});
    }
    case Role::reconstruct: {  // _reconstruct(ndarray, shape, typecode) -> empty array
      expect_args(cur, fn, args, 3, 3);
      if (!args[0]->is_global() || args[0]->as_global().qualified() != "numpy.ndarray") {
        cur.fail("numpy _reconstruct of a class other than numpy.ndarray (matrix, masked "
                 "array …) is not supported");
      }
      NDArray a;
      a.shape = {0};
      return m.make(std::move(a));
    }
    case Role::dtype_ctor: {  // numpy.dtype(descr, align, copy)
      expect_args(cur, fn, args, 1, 3);
      if (!args[0]->is_str()) cur.fail("numpy.dtype called with a " + args[0]->type_name());
      return m.make(dtype_from_descr(cur, args[0]->as_str()));
    }
    case Role::scalar: {  // scalar(dtype, bytes)
      expect_args(cur, fn, args, 1, 2);
      const DType& dt = args[0]->as_dtype();
      if (args.size() == 1) return m.make(std::int64_t{0});
      return numpy_scalar(m, dt, *args[1]);
    }
    case Role::frombuffer: {  // _frombuffer(buffer, dtype, shape, order)
      expect_args(cur, fn, args, 4, 4);
      NDArray a;
      a.dtype = args[1]->as_dtype();
      if (a.dtype.kind == 'O') cur.fail("object arrays cannot come from a buffer");
      a.shape = shape_from(cur, *args[2]);
      const std::string& order = args[3]->as_str();
      const std::string& raw = args[0]->as_bytes().data;
      m.budget().charge(cur, raw.size());
      array_from_bytes(cur, a, {reinterpret_cast<const std::uint8_t*>(raw.data()), raw.size()},
                       order == "F");
      return m.make(std::move(a));
    }
    case Role::codecs_encode: {  // _codecs.encode(text, "latin1")
      expect_args(cur, fn, args, 1, 2);
      const std::string& text = args[0]->as_str();
      if (args.size() == 2) {
        const std::string& enc = args[1]->as_str();
        if (enc != "latin1" && enc != "latin-1" && enc != "iso-8859-1") {
          cur.fail("_codecs.encode with encoding '" + enc.substr(0, 40) + "' is not supported");
        }
      }
      auto bytes = utf8_to_latin1(text);
      if (!bytes) cur.fail("_codecs.encode of text that is not Latin-1");
      const std::size_t n = bytes->size();
      return m.make(Bytes{std::move(*bytes)}, n);
    }
    case Role::make_set: {
      expect_args(cur, fn, args, 0, 1);
      MutPtr v = m.make(Set{{}, fn.name == "frozenset"});
      if (!args.empty()) {
        const auto& items = args[0]->as_sequence();
        m.budget().charge(cur, items.size() * sizeof(ValuePtr));
        for (const auto& i : items) {
          m.adopt(*v, i);
          std::get<Set>(Machine::storage(*v)).items.push_back(i);
        }
      }
      return v;
    }
    case Role::make_bytearray: {
      expect_args(cur, fn, args, 0, 2);
      if (args.empty()) return m.make(Bytes{});
      if (args[0]->is_bytes()) {
        const std::size_t n = args[0]->as_bytes().data.size();
        return m.make(Bytes{args[0]->as_bytes().data}, n);
      }
      cur.fail("bytearray called with a " + args[0]->type_name());
    }
    case Role::ordered_dict: {
      expect_args(cur, fn, args, 0, 0);
      return m.make(Dict{});
    }
    case Role::torch_parameter: {  // (tensor, requires_grad, backward_hooks)
      expect_args(cur, fn, args, 3, 3);
      if (!args[0]->is_array()) cur.fail("torch parameter field 'data' is a " + args[0]->type_name());
      if (!args[2]->is_dict() || !args[2]->as_dict().items.empty()) {
        cur.fail("torch parameter field 'backward_hooks' is not empty");
      }
      // The tensor is already sealed inside the arguments: BUILD or APPEND on it stays refused.
      return std::const_pointer_cast<Value>(args[0]);
    }
    case Role::torch_tensor:
      return torch_rebuild_tensor(m, args);
    case Role::torch_storage:
      expect_args(cur, fn, args, 1, 1);
      return torch_load_from_bytes(m, *args[0]);
    case Role::torch_device: {
      expect_args(cur, fn, args, 1, 2);
      std::string d = args[0]->as_str().substr(0, 40);
      if (args.size() == 2 && !args[1]->is_none()) d += ":" + std::to_string(args[1]->as_int());
      const std::size_t n = d.size();
      return m.make(std::move(d), n);
    }
    case Role::object_base:
    case Role::ndarray_class:
    case Role::storage_type:
      break;
  }
  cur.fail(fn.qualified() + " cannot be called");
}

MutPtr build(Machine& m, const MutPtr& target, const ValuePtr& state) {
  Cursor& cur = m.cursor();
  m.require_mutable(*target, "BUILD");
  auto& storage = Machine::storage(*target);
  if (auto* arr = std::get_if<NDArray>(&storage)) {
    // ndarray.__setstate__((version, shape, dtype, is_fortran, data)), version optional.
    const auto& st = state->as_sequence();
    const std::size_t off = st.size() == 5 ? 1 : 0;
    if (st.size() != 4 + off) cur.fail("numpy array state has " + std::to_string(st.size()) + " items");
    arr->shape = shape_from(cur, *st[off]);
    arr->dtype = st[off + 1]->as_dtype();
    const bool fortran = st[off + 2]->as_bool();
    const Value& data = *st[off + 3];
    if (arr->dtype.kind == 'O') {
      const auto& items = data.as_sequence();
      std::size_t nbytes = 0;
      const std::size_t count = checked_count(cur, arr->shape, sizeof(ValuePtr), &nbytes);
      if (items.size() != count) {
        cur.fail("object array of " + std::to_string(count) + " elements pickled with " +
                 std::to_string(items.size()) + " items");
      }
      m.budget().charge(cur, nbytes);
      std::vector<ValuePtr> objs(items.begin(), items.end());
      if (fortran && arr->shape.size() > 1) cur.fail("Fortran-ordered object arrays are not supported");
      m.adopt(*target, state);
      arr->objects = std::move(objs);
      return target;
    }
    std::string_view raw;
    if (data.is_bytes()) raw = data.as_bytes().data;
    else if (data.is_str()) raw = data.as_str();  // Python 2 str decoded as ASCII
    else cur.fail("numpy array data is a " + data.type_name() + ", not bytes");
    m.budget().charge(cur, raw.size());
    array_from_bytes(cur, *arr, {reinterpret_cast<const std::uint8_t*>(raw.data()), raw.size()},
                     fortran);
    return target;
  }
  if (auto* dt = std::get_if<DType>(&storage)) {
    dtype_set_state(cur, *dt, *state);
    return target;
  }
  auto* obj = std::get_if<Object>(&storage);
  if (obj == nullptr) cur.fail("BUILD on a " + target->type_name());
  // state is a dict, or (dict or None, slot-state dict).
  std::vector<const Value*> dicts;
  if (state->is_dict()) {
    dicts.push_back(state.get());
  } else if (state->is_tuple() && state->as_sequence().size() == 2) {
    for (const auto& part : state->as_sequence()) {
      if (part->is_dict()) dicts.push_back(part.get());
      else if (!part->is_none()) cur.fail("object state part is a " + part->type_name());
    }
  } else {
    cur.fail(obj->cls.name + " state is a " + state->type_name() + ", not a dict");
  }
  m.adopt(*target, state);
  for (const Value* d : dicts) {
    for (const auto& [k, v] : d->as_dict().items) {
      if (!k->is_str()) cur.fail(obj->cls.name + " state has a non-str key");
      auto [it, inserted] = obj->attrs.str_index.emplace(k->as_str(), obj->attrs.items.size());
      if (inserted) obj->attrs.items.emplace_back(k, v);
      else obj->attrs.items[it->second].second = v;
    }
  }
  if (obj->cls.qualified() == "joblib.numpy_pickle.NumpyArrayWrapper") {
    return read_joblib_array(m, *obj);
  }
  if (obj->cls.qualified() == "joblib.numpy_pickle_compat.NDArrayWrapper") {
    return read_npy_side_file(m, *obj);
  }
  return target;
}

}  // namespace docquant::pickle::detail
