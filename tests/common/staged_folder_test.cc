#include "staged_folder.h"

#include <fmt/core.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "docquant/error.h"
#include "file_util.h"

namespace docquant {
namespace {

namespace fs = std::filesystem;

class StagedFolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("docquant_staged_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "input");
    std::ofstream(root_ / "input" / "model.onnx") << "x";
  }
  void TearDown() override { fs::remove_all(root_); }
  std::size_t entries(const fs::path& dir) {
    return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator{}));
  }
  fs::path root_;
};

TEST_F(StagedFolderTest, CommitMovesFilesIntoPlace) {
  {
    StagedFolder out(root_ / "out", false, {root_ / "input"});
    write_file_checked(out.dir() / "a.txt", "hello");
    EXPECT_FALSE(fs::exists(root_ / "out"));
    out.commit();
  }
  EXPECT_TRUE(fs::exists(root_ / "out" / "a.txt"));
  EXPECT_EQ(entries(root_), 2u);  // input/ and out/, no temporary folder left
}

TEST_F(StagedFolderTest, UncommittedLeavesNothing) {
  {
    StagedFolder out(root_ / "out", false, {});
    write_file_checked(out.dir() / "a.txt", "partial");
  }
  EXPECT_FALSE(fs::exists(root_ / "out"));
  EXPECT_EQ(entries(root_), 1u);
}

TEST_F(StagedFolderTest, ExistingNonEmptyOutputNeedsOverwrite) {
  fs::create_directories(root_ / "out");
  std::ofstream(root_ / "out" / "old.txt") << "old";
  EXPECT_THROW(StagedFolder(root_ / "out", false, {}), OutputError);
  {
    StagedFolder out(root_ / "out", true, {});
    write_file_checked(out.dir() / "new.txt", "new");
    out.commit();
  }
  EXPECT_FALSE(fs::exists(root_ / "out" / "old.txt"));
  EXPECT_TRUE(fs::exists(root_ / "out" / "new.txt"));
  EXPECT_EQ(entries(root_), 2u);
}

TEST_F(StagedFolderTest, EmptyExistingOutputIsFine) {
  fs::create_directories(root_ / "out");
  StagedFolder out(root_ / "out", false, {});
  out.commit();
  EXPECT_TRUE(fs::is_directory(root_ / "out"));
}

TEST_F(StagedFolderTest, OutputInsideAnInputIsRefused) {
  try {
    StagedFolder out(root_ / "input" / "out", false, {root_ / "input"});
    FAIL() << "expected OutputError";
  } catch (const OutputError& e) {
    EXPECT_NE(std::string(e.what()).find("overlaps the input"), std::string::npos) << e.what();
  }
  EXPECT_THROW(StagedFolder(root_ / "input", true, {root_ / "input"}), OutputError);
  EXPECT_THROW(StagedFolder(root_, true, {root_ / "input"}), OutputError);  // input inside output
  EXPECT_THROW(StagedFolder(root_ / "input" / "model.onnx", true, {root_ / "input" / "model.onnx"}), OutputError);
  EXPECT_EQ(entries(root_ / "input"), 1u);
}

TEST_F(StagedFolderTest, OutputBesideAnInputFileIsFine) {
  std::ofstream(root_ / "data.csv") << "text,label\n";
  StagedFolder out(root_ / "out", false, {root_ / "data.csv"});
  out.commit();
  EXPECT_TRUE(fs::is_directory(root_ / "out"));
}

TEST_F(StagedFolderTest, StaleTemporaryFolderOfADeadProcessIsRemoved) {
  // PID 2^22+1 is above Linux's pid_max default and so cannot be running.
  const fs::path stale = root_ / (std::string("out") + StagedFolder::kTempMarker + "4194305");
  fs::create_directories(stale);
  StagedFolder out(root_ / "out", false, {});
  EXPECT_FALSE(fs::exists(stale));
}

// Issue 29 item 7: the temporary folder was named by the pid alone, so two runs in one
// process (two Python threads) shared it and failed with misleading messages.
TEST_F(StagedFolderTest, SecondRunInTheSameProcessFailsAtOnce) {
  StagedFolder first(root_ / "out", false, {});
  write_file_checked(first.dir() / "mine.txt", "mine");
  try {
    StagedFolder second(root_ / "out", false, {});
    FAIL() << "expected OutputError";
  } catch (const OutputError& e) {
    EXPECT_NE(std::string(e.what()).find("out: another run is writing this output folder (in this process)"),
              std::string::npos)
        << e.what();
  }
  first.commit();
  EXPECT_TRUE(fs::exists(root_ / "out" / "mine.txt"));
}

TEST_F(StagedFolderTest, RunsAfterOneAnotherInOneProcessUseDistinctFolders) {
  fs::path dir;
  {
    StagedFolder a(root_ / "a", false, {});
    dir = a.dir();
  }
  StagedFolder b(root_ / "a", false, {});
  EXPECT_NE(b.dir(), dir);
}

// Liveness is the folder's lock, not its pid: a folder named with a running process's pid
// (here this one's) that no run holds is a killed run's, and goes.
TEST_F(StagedFolderTest, UnlockedFolderWithALivePidIsRemoved) {
  const fs::path stale = root_ / fmt::format("out{}{}-7", StagedFolder::kTempMarker, ::getpid());
  fs::create_directories(stale);
  StagedFolder out(root_ / "out", false, {});
  EXPECT_FALSE(fs::exists(stale));
}

// Issue 20 item 5: two runs on one output; whichever finishes second must not replace the
// first one's result (here the first one's result is made by hand).
TEST_F(StagedFolderTest, OutputThatAppearedMeanwhileIsNotReplaced) {
  StagedFolder out(root_ / "out", false, {});
  write_file_checked(out.dir() / "mine.txt", "mine");
  fs::create_directories(root_ / "out");
  std::ofstream(root_ / "out" / "theirs.txt") << "theirs";
  try {
    out.commit();
    FAIL() << "expected OutputError";
  } catch (const OutputError& e) {
    EXPECT_NE(std::string(e.what()).find("out: appeared while this run was working"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::exists(root_ / "out" / "theirs.txt"));
  EXPECT_FALSE(fs::exists(root_ / "out" / "mine.txt"));
}

TEST_F(StagedFolderTest, EmptyOutputFilledMeanwhileIsNotReplaced) {
  fs::create_directories(root_ / "out");
  StagedFolder out(root_ / "out", false, {});
  std::ofstream(root_ / "out" / "theirs.txt") << "theirs";
  EXPECT_THROW(out.commit(), OutputError);
  EXPECT_TRUE(fs::exists(root_ / "out" / "theirs.txt"));
}

TEST_F(StagedFolderTest, OverwrittenOutputReplacedMeanwhileIsNotReplaced) {
  fs::create_directories(root_ / "out");
  std::ofstream(root_ / "out" / "old.txt") << "old";
  StagedFolder out(root_ / "out", true, {});
  fs::rename(root_ / "out", root_ / "gone");
  fs::create_directories(root_ / "out");
  std::ofstream(root_ / "out" / "theirs.txt") << "theirs";
  try {
    out.commit();
    FAIL() << "expected OutputError";
  } catch (const OutputError& e) {
    EXPECT_NE(std::string(e.what()).find("was replaced or removed while this run was working"), std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(fs::exists(root_ / "out" / "theirs.txt"));
}

TEST_F(StagedFolderTest, OutputThatIsAFileIsRefused) {
  std::ofstream(root_ / "file") << "x";
  EXPECT_THROW(StagedFolder(root_ / "file", true, {}), OutputError);
}

TEST(FileUtil, Sha256OfKnownBytes) {
  EXPECT_EQ(sha256_bytes("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(FileUtil, WriteToDevFullReportsDiskFull) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  try {
    write_file_checked("/dev/full", std::string(1 << 20, 'x'));
    FAIL() << "expected OutputError";
  } catch (const OutputError& e) {
    EXPECT_NE(std::string(e.what()).find("disk full"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace docquant
