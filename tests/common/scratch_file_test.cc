#include "scratch_file.h"

#include <gtest/gtest.h>

#include <fstream>

#include "docquant/error.h"

namespace docquant {
namespace {

namespace fs = std::filesystem;

class ScratchFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("docquant_scratch_file_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path make(const std::string& name) const {
    std::ofstream(dir_ / name) << "model";
    return dir_ / name;
  }
  fs::path dir_;
};

TEST_F(ScratchFileTest, RemovedWithItsOwner) {
  const fs::path p = make("trial_1.onnx");
  { ScratchFile f(p); }
  EXPECT_FALSE(fs::exists(p));
}

TEST_F(ScratchFileTest, RemovedEarlyAndNotAgain) {
  const fs::path p = make("fp32_baseline.onnx");
  {
    ScratchFile f(p);
    f.remove();
    EXPECT_FALSE(fs::exists(p));
    EXPECT_TRUE(f.path().empty());
    make("fp32_baseline.onnx");  // a new file at the same name is no longer this owner's
  }
  EXPECT_TRUE(fs::exists(p));
}

TEST_F(ScratchFileTest, MovedOwnershipRemovesOnce) {
  const fs::path first = make("trial_1.onnx");
  const fs::path second = make("trial_2.onnx");
  ScratchFile kept(first);
  {
    ScratchFile moved(std::move(kept));
    EXPECT_TRUE(fs::exists(first));
    ScratchFile other(second);
    other = std::move(moved);  // drops trial_2, takes trial_1
    EXPECT_FALSE(fs::exists(second));
    EXPECT_TRUE(fs::exists(first));
  }
  EXPECT_FALSE(fs::exists(first));
}

TEST_F(ScratchFileTest, RenamedIntoPlaceStays) {
  const fs::path p = make("trial_first.onnx");
  {
    ScratchFile f(p);
    f.rename_to(dir_ / "model.onnx");
    EXPECT_TRUE(f.path().empty());
  }
  EXPECT_TRUE(fs::exists(dir_ / "model.onnx"));
  EXPECT_FALSE(fs::exists(p));
}

TEST_F(ScratchFileTest, FailedRenameIsAnOutputErrorAndKeepsOwnership) {
  const fs::path p = make("trial_1.onnx");
  {
    ScratchFile f(p);
    EXPECT_THROW(f.rename_to(dir_ / "missing" / "model.onnx"), OutputError);
    EXPECT_EQ(f.path(), p);
  }
  EXPECT_FALSE(fs::exists(p));
}

}  // namespace
}  // namespace docquant
