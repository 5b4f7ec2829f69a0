#pragma once
// A training run as a folder, the same for every recipe (GAN, feed-forward, CycleGAN):
//
//   config.json         the effective options (every default resolved) and the recipe that trains
//                       them ("recipe": "gan"), written at the start
//   log.jsonl           one JSON object per logged step ({"step": N, ...metrics})
//   checkpoints/        step-000500.ckpt ... and latest.ckpt (impasto checkpoints, io/weights.h)
//   samples/            step-000500.png ...: what the model makes at that step, from fixed inputs;
//                       real.png: training data drawn the same way, for comparison
//   report.html         loss curves and the sample timeline; plain HTML, viewable offline, images
//                       referenced by relative path (charts in charts/*.png)
//
// Files that readers may see half-written (config, checkpoints, report) are written to a temporary
// name and renamed, so an interrupted run never leaves a truncated checkpoint behind.
#include <cstdint>
#include <string>
#include <vector>

#include "impasto/core/json_options.h"
#include "impasto/io/text_file.h"
#include "impasto/io/weights.h"

namespace impasto {

// An existing run folder, read only: naming one creates and changes nothing (explain/ reads runs
// through this, so explaining a run never writes into it).
class RunFolder {
 public:
  explicit RunFolder(std::string path);  // trailing slashes dropped; the folder need not exist

  const std::string& path() const { return path_; }
  std::string file(const std::string& relative) const { return path_ + "/" + relative; }

  // FileError when absent, FormatError when not JSON.
  Json read_config() const;
  // Every record; FormatError naming the line for a corrupt line (a torn last line is dropped).
  std::vector<Json> read_log() const;
  std::string latest_checkpoint() const;  // "" when there is none
  std::string sample_path(int64_t step) const;  // samples/step-<step>.png (relative: sample_file)
  static std::string sample_file(int64_t step);
  std::string real_samples_path() const { return file("samples/real.png"); }

 private:
  std::string path_;
};

// The writing side, for training: the folder and its sub-folders are created when missing.
class RunDirectory : public RunFolder {
 public:
  // FileError when the folders cannot be created.
  explicit RunDirectory(std::string path);

  void write_config(const Json& config) const;
  void append_log(const Json& record) const;
  // Drops records with "step" > `step` (a resumed run continues from its checkpoint).
  void truncate_log_after(int64_t step) const;
  // Writes checkpoints/step-<step>.ckpt and makes latest.ckpt the same. `keep` > 0 deletes all
  // but the newest `keep` step files.
  void write_checkpoint(const Checkpoint& checkpoint, int64_t step, int keep = 0) const;
  // A checkpoint for use outside training (model.ckpt ...) at `relative`, through a temporary name.
  void write_model(const std::string& relative, const Checkpoint& model) const;
};

struct ReportChart {
  std::string title;
  std::vector<std::string> keys;  // log.jsonl keys drawn as series (missing ones skipped)
  bool log_y = false;
  std::string x_key = "step";     // the horizontal axis: a log.jsonl key (e.g. train_s)
  std::string x_label = "step";
};

struct RunReport {
  std::string title;
  std::vector<std::pair<std::string, std::string>> summary;  // key/value rows
  std::vector<ReportChart> charts;
  std::string samples_caption;  // what the sample images show
};

// Draws the charts from log.jsonl into charts/*.png and writes report.html with the summary, the
// config, the charts and every sample image in samples/ in step order (the timeline).
void write_run_report(const RunDirectory& run, const RunReport& report);

}  // namespace impasto
