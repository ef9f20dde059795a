#include "staged_folder.h"

#include <fmt/core.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "docquant/error.h"

namespace docquant {

namespace fs = std::filesystem;

namespace {

fs::path absolute_normal(const fs::path& p) {
  std::error_code ec;
  fs::path abs = fs::weakly_canonical(fs::absolute(p), ec);
  return ec ? fs::absolute(p).lexically_normal() : abs;
}

bool is_within(const fs::path& inner, const fs::path& outer) {
  auto rel = inner.lexically_relative(outer);
  return !rel.empty() && *rel.begin() != "..";
}

// Removes temporary siblings of `target` whose writing process no longer exists:
// OUT.docquant-tmp-<pid> (a result never committed) and OUT.docquant-tmp-<pid>.old (the
// previous OUT, moved aside by commit() just before a kill). When OUT itself is then
// missing, the .old folder is the user's previous output: it is moved back, not removed.
void remove_stale_staging(const fs::path& target) {
  std::error_code ec;
  const std::string prefix = target.filename().string() + StagedFolder::kTempMarker;
  std::vector<fs::path> stale, old;
  for (const auto& entry : fs::directory_iterator(target.parent_path(), ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(prefix)) continue;
    std::string pid_text = name.substr(prefix.size());
    const bool is_old = pid_text.ends_with(".old");
    if (is_old) pid_text.resize(pid_text.size() - 4);
    char* end = nullptr;
    const long pid = std::strtol(pid_text.c_str(), &end, 10);
    if (end == pid_text.c_str() || *end != '\0' || pid <= 0) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM) continue;  // still running
    (is_old ? old : stale).push_back(entry.path());
  }
  for (const auto& p : old) {
    if (!fs::exists(target, ec)) {
      fs::rename(p, target, ec);
      if (!ec) continue;
    }
    fs::remove_all(p, ec);
  }
  for (const auto& p : stale) fs::remove_all(p, ec);
}

}  // namespace

StagedFolder::StagedFolder(fs::path target, bool overwrite, const std::vector<fs::path>& inputs)
    : target_(absolute_normal(target)), overwrite_(overwrite) {
  std::error_code ec;
  for (const auto& input : inputs) {
    // An input folder must neither contain the output nor lie inside it; an input file
    // must not lie inside it (the output may sit beside a file, e.g. next to the CSV).
    const fs::path in = absolute_normal(input);
    const bool folder = fs::is_directory(in, ec);
    if (target_ == in || is_within(in, target_) || (folder && is_within(target_, in))) {
      throw OutputError(fmt::format("{}: the output folder overlaps the input '{}'; choose an output folder outside "
                                    "the inputs (they are never modified)",
                                    target.string(), input.string()));
    }
  }
  // First, so that an output a killed run moved aside is back before OUT is checked.
  remove_stale_staging(target_);
  if (fs::exists(target_, ec)) {
    if (!fs::is_directory(target_, ec)) {
      throw OutputError(fmt::format("{}: exists and is not a folder", target.string()));
    }
    if (!fs::is_empty(target_, ec) && !overwrite_) {
      throw OutputError(fmt::format("{}: exists and is not empty; pass --overwrite to replace it", target.string()));
    }
  }
  const fs::path parent = target_.parent_path();
  fs::create_directories(parent, ec);
  if (ec || ::access(parent.c_str(), W_OK) != 0) {
    throw OutputError(fmt::format("{}: cannot write in folder '{}'", target.string(), parent.string()));
  }
  staging_ = parent / (target_.filename().string() + kTempMarker + std::to_string(::getpid()));
  fs::remove_all(staging_, ec);
  if (!fs::create_directory(staging_, ec)) {
    throw OutputError(fmt::format("{}: cannot create temporary folder '{}': {}", target.string(), staging_.string(),
                                  ec.message()));
  }
}

StagedFolder::~StagedFolder() {
  if (committed_) return;
  std::error_code ec;
  fs::remove_all(staging_, ec);
}

void StagedFolder::commit() {
  std::error_code ec;
  if (fs::exists(target_, ec)) {
    // Checked empty or --overwrite in the constructor; move it aside, then swap in.
    const fs::path old = staging_.string() + ".old";
    fs::rename(target_, old, ec);
    if (ec) throw OutputError(fmt::format("{}: cannot replace it: {}", target_.string(), ec.message()));
    fs::rename(staging_, target_, ec);
    if (ec) {
      std::error_code ignored;
      fs::rename(old, target_, ignored);
      throw OutputError(fmt::format("{}: cannot move the result into place: {}", target_.string(), ec.message()));
    }
    fs::remove_all(old, ec);
  } else {
    fs::rename(staging_, target_, ec);
    if (ec) throw OutputError(fmt::format("{}: cannot move the result into place: {}", target_.string(), ec.message()));
  }
  committed_ = true;
}

}  // namespace docquant
