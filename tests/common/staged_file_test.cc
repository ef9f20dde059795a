#include "staged_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "docquant/error.h"
#include "staged_folder.h"

namespace docquant {
namespace {

namespace fs = std::filesystem;

class StagedFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("docquant_staged_file_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "model");
    std::ofstream(root_ / "data.csv") << "text\n";
  }
  void TearDown() override { fs::remove_all(root_); }
  std::vector<fs::path> inputs() const { return {root_ / "data.csv", root_ / "model", fs::path()}; }
  // The OutputError check_target throws for `target`, or "" when it accepts it.
  std::string refusal(const fs::path& target) const {
    try {
      StagedFile::check_target(target, "--json", inputs());
    } catch (const OutputError& e) {
      return e.what();
    }
    return "";
  }
  static std::string read(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  bool has_temporary_files() const {
    for (const auto& e : fs::directory_iterator(root_)) {
      if (e.path().filename().string().find(StagedFolder::kTempMarker) != std::string::npos) return true;
    }
    return false;
  }
  fs::path root_;
};

TEST_F(StagedFileTest, CheckTargetRefusesInputsFoldersAndMissingFolders) {
  EXPECT_EQ(refusal(root_ / "report.json"), "");
  const std::string csv = (root_ / "data.csv").string(), model = (root_ / "model").string();
  EXPECT_EQ(refusal(root_ / "data.csv"),
            csv + ": --json would overwrite or write into the input '" + csv + "'; choose another file");
  EXPECT_EQ(refusal(root_ / "model" / "report.json"),
            model + "/report.json: --json would overwrite or write into the input '" + model + "'; choose another file");
  fs::create_symlink(root_ / "data.csv", root_ / "link.csv");
  EXPECT_NE(refusal(root_ / "link.csv").find("would overwrite or write into the input"), std::string::npos);
  EXPECT_EQ(refusal(root_), root_.string() + ": --json names a folder, not a file");
  EXPECT_EQ(refusal(root_ / "none" / "r.json"),
            (root_ / "none" / "r.json").string() + ": --json: folder '" + (root_ / "none").string() + "' does not exist");
}

TEST_F(StagedFileTest, OverlappingInputCoversBothDirections) {
  const std::vector<fs::path> in = inputs();
  EXPECT_EQ(overlapping_input(root_ / "model" / "out", in), &in[1]);   // inside an input folder
  EXPECT_EQ(overlapping_input(root_, in), &in[0]);                     // an input inside the output
  EXPECT_EQ(overlapping_input(root_ / "beside", in), nullptr);          // beside the inputs
  EXPECT_EQ(overlapping_input(root_ / "data.csv" / "x", in), nullptr);  // a file is no folder to write into
}

TEST_F(StagedFileTest, AppearsWholeOnCommitOnly) {
  const fs::path target = root_ / "out.json";
  {
    StagedFile out(target);
    EXPECT_FALSE(out.is_stream());
    out.write("{}\n");
    EXPECT_FALSE(fs::exists(target));
  }
  EXPECT_FALSE(fs::exists(target));  // never committed: nothing left behind
  EXPECT_FALSE(has_temporary_files());
  write_staged_file(target, "done\n");
  EXPECT_EQ(read(target), "done\n");
  EXPECT_FALSE(has_temporary_files());
}

TEST_F(StagedFileTest, ALinkToARegularFileStaysALink) {
  std::ofstream(root_ / "real.json") << "old";
  fs::create_symlink(root_ / "real.json", root_ / "link.json");
  write_staged_file(root_ / "link.json", "new");
  EXPECT_TRUE(fs::is_symlink(root_ / "link.json"));
  EXPECT_EQ(read(root_ / "real.json"), "new");
}

// Issue 29: `classify --output - | head -1` classified the rest of its input before the next
// write met SIGPIPE (~33 s); classify now asks between batches whether the reader is gone.
TEST_F(StagedFileTest, ReaderGoneOnlyForAPipeWhoseReaderClosed) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  StagedFile pipe_out(fs::path("/proc/self/fd") / std::to_string(fds[1]));
  ::close(fds[1]);
  ASSERT_TRUE(pipe_out.is_stream());
  EXPECT_FALSE(pipe_out.reader_gone());
  ::close(fds[0]);
  EXPECT_TRUE(pipe_out.reader_gone());
  StagedFile file_out(root_ / "preds.csv");
  EXPECT_FALSE(file_out.reader_gone());
}

TEST_F(StagedFileTest, AFifoIsWrittenAsAStreamNotReplaced) {
  const fs::path fifo = root_ / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string got;
  std::thread t([&] {
    std::ifstream in(fifo);
    std::getline(in, got);
  });
  {
    StagedFile out(fifo);
    EXPECT_TRUE(out.is_stream());
    out.write("streamed\n");
    out.commit();
  }
  t.join();
  EXPECT_EQ(got, "streamed");
  struct stat st {};
  ASSERT_EQ(::lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_FALSE(has_temporary_files());
}

}  // namespace
}  // namespace docquant
