// impasto stylize: one content image + style image(s) -> a stylized image, losses.jsonl, summary;
// or every image of a folder into an output folder; or stdin to stdout (-c - / -o -); or a video
// (or a folder of frames with --sequence) into a video or a folder of frames, temporally consistent.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <iterator>

#include "commands.h"
#include "impasto/core/error.h"
#include "impasto/style/job.h"
#include "impasto/style/method.h"
#include "impasto/style/video.h"
#include "stylize_flags.h"

namespace impasto::cli {

CLI::App* add_stylize_command(CLI::App& app, Context& context) {
  struct StylizeFlags {
    StylizeJob job;
    std::string config;  // JSON file of method options; flags override it
    int threads = 0;
    MethodFlags options;
    VideoStylizeJob video;
    bool sequence = false;
  };
  auto flags = std::make_shared<StylizeFlags>();
  auto& f = *flags;
  CLI::App* cmd = app.add_subcommand("stylize", "Stylize a photo with one or more style images");
  cmd->add_option("-c,--content", f.job.content, "content image (photo), a folder of them, or - for stdin")->required();
  cmd->add_option("-s,--style", f.job.styles, "style image(s); repeat or separate by commas (not with --model)")->delimiter(',');
  cmd->add_option("-o,--output", f.job.output, "output image (.png .jpg .webp .bmp .tif), output folder (with a content folder), or - for stdout")->capture_default_str();
  cmd->add_option("--format", f.job.format, "output format for -o - (default png) and for a folder's outputs (default: each input's): png, jpg, webp, bmp, tif");
  cmd->add_option("--config", f.config, "JSON file with method options (flags override it)");
  cmd->add_option("--style-blend-weights", f.job.style_blend_weights, "one weight per style image (default all 1)")->delimiter(',');
  cmd->add_option("--style-gan", f.job.gan_styles.run, "a GAN run (or checkpoint) whose generator paints the style images (after any -s files)");
  cmd->add_option("--style-count", f.job.gan_styles.count, "--style-gan: how many pictures, blended as style images")->capture_default_str();
  cmd->add_option("--style-seed", f.job.gan_styles.seed, "--style-gan: seed of the latents")->capture_default_str();
  cmd->add_option("--style-latent", f.job.gan_styles.latents,
                  "--style-gan: latents from a JSON file instead ([[z...], ...], or a result's .json to paint its styles again)");
  cmd->add_option("--style-truncation", f.job.gan_styles.truncation, "--style-gan: truncation trick for drawn latents (0 = off)")->capture_default_str();
  cmd->add_option("--style-category", f.job.gan_styles.category,
                  "--style-gan trained with --categories K: paint that category's pictures (0..K-1)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--masks", f.job.masks,
                  "one mask image per style (white = style here); '' or 'none' for a style without mask")->delimiter(',');
  cmd->add_option("--init-image", f.job.init_image, "start image (with --init image)");
  cmd->add_option("--losses", f.job.losses, "losses.jsonl path (default <output stem>.losses.jsonl)");
  cmd->add_option("--save-every", f.job.save_every, "write the current image every N iterations (0 = never)");
  cmd->add_option("--max-pixels", f.job.max_pixels, "refuse input images with more pixels (default 64 MP)")->capture_default_str();
  // Video (style/video.h).
  cmd->add_flag("--sequence", f.sequence, "video: a content folder is a video's frames in name order (one temporally consistent run)");
  cmd->add_option("--start", f.video.start, "video: first frame (0-based)");
  cmd->add_option("--frames", f.video.frames, "video: at most this many frames (0 = to the end)");
  cmd->add_option("--consistency", f.video.consistency,
                  "video: 0 = every frame on its own; one-pass methods blend this much of the previous result where "
                  "the motion is reliable; gatys uses its temporal loss (--temporal-weight)")->capture_default_str();
  cmd->add_option("--scene-cut", f.video.scene_cut, "video: a frame with less than this fraction of reliable motion starts afresh")->capture_default_str();
  cmd->add_option("--fps", f.video.fps, "video: frame rate of the output video of a frame folder (default 25)");
  cmd->add_option("--video-codec", f.video.video_codec, "video: FFmpeg encoder (default: libx264 for .mp4/.mov/.mkv, libvpx-vp9 for .webm, mpeg4 for .avi)");
  cmd->add_option("--quality", f.video.quality, "video: constant quality, H.264's CRF scale (lower is better)")->capture_default_str();
  cmd->add_option("--max-frames", f.video.limits.max_frames, "video: refuse clips with more frames (0 = no limit)");
  cmd->add_option("--max-seconds", f.video.limits.max_seconds, "video: refuse longer clips (0 = no limit)");
  add_threads_flag(*cmd, f.threads);
  add_method_flags(cmd, f.job.method, f.options);

  cmd->callback([flags, &context, cmd] {
    auto& f = *flags;
    Json options = method_options(f.config, f.options);
    for (auto& m : f.job.masks)
      if (m == "none" || m == "-") m.clear();
    f.job.method = chosen_method(*cmd, f.job.method, options);
    f.job.options = options;
    namespace fs = std::filesystem;
    std::error_code ec;
    const bool to_stdout = f.job.output == "-";
    if (to_stdout) {
      f.job.write_output = [](const std::vector<uint8_t>& bytes) {
        if (std::fwrite(bytes.data(), 1, bytes.size(), stdout) != bytes.size() || std::fflush(stdout) != 0)
          throw FileError("stdout", "write failed");
      };
    }
    const bool folder_in = f.job.content != "-" && fs::is_directory(f.job.content, ec);
    const bool video_in = !folder_in && f.job.content != "-" &&
                          (known_video_extension(f.job.content) || is_video_file(f.job.content));
    if (video_in || (folder_in && (f.sequence || is_video_output(f.job.output)))) {
      if (cmd->count("--output") == 0) throw OptionError("output", "give the output video or folder of frames (-o out.mp4)");
      if (to_stdout) throw OptionError("output", "a video goes to a file or a folder, not to stdout");
      f.video.frame = f.job;
      f.video.limits.max_pixels = f.job.max_pixels;
      const VideoStylizeResult result = run_stylize_video(f.video, context.callbacks());
      if (!context.quiet)
        std::fprintf(stderr, "wrote %s: %lld frames of %lldx%lld in %.1f s (%.2f frames/s), warping error %.5f%s\n",
                     f.job.output.c_str(), static_cast<long long>(result.frames), static_cast<long long>(result.width),
                     static_cast<long long>(result.height), result.seconds, result.frames_per_second, result.warping_error,
                     result.scene_cuts ? (", " + std::to_string(result.scene_cuts) + " scene cut(s)").c_str() : "");
      if (result.stopped_early) {
        std::fprintf(stderr, "interrupted: %s holds the %lld frames done\n", f.job.output.c_str(), static_cast<long long>(result.frames));
        context.exit_code = 130;
      }
      return;
    }
    if (f.sequence) throw OptionError("sequence", "--sequence takes a folder of frames as content");
    if (is_video_output(f.job.output))
      throw OptionError("output", f.job.output + " is a video: give a video (or a folder of frames with --sequence) as content");
    if (folder_in) {
      if (cmd->count("--output") == 0) throw OptionError("output", "give the output folder for a folder of images (-o DIR)");
      const StylizeFolderResult result = run_stylize_folder(f.job, context.callbacks());
      if (!context.quiet || !result.skipped.empty())
        std::fprintf(stderr, "wrote %zu of %lld images to %s in %.1f s\n", result.outputs.size(),
                     static_cast<long long>(result.images), f.job.output.c_str(), result.seconds);
      if (result.stopped_early) {
        std::fprintf(stderr, "interrupted: the remaining images were not stylized\n");
        context.exit_code = 130;
      } else if (!result.skipped.empty()) {
        std::fprintf(stderr, "error: %zu image(s) could not be read and were skipped:\n", result.skipped.size());
        for (const auto& s : result.skipped) std::fprintf(stderr, "  %s\n", s.error.c_str());
        context.exit_code = 1;
      }
      return;
    }
    if (f.job.content == "-") {
      f.job.content_bytes.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
      if (f.job.content_bytes.empty()) throw OptionError("content", "no image on stdin (-c -)");
      f.job.content.clear();
    }
    const StylizeJobResult result = run_stylize_job(f.job, context.callbacks());
    const std::string written = to_stdout ? "stdout" : f.job.output;
    if (result.stopped_early) {
      if (result.steps > 0)
        std::fprintf(stderr, "interrupted at step %lld: wrote the result so far to %s\n", static_cast<long long>(result.steps),
                     written.c_str());
      else
        std::fprintf(stderr, "interrupted: wrote the result so far to %s\n", written.c_str());
      context.exit_code = 130;
      return;
    }
    if (!context.quiet) {
      const bool iterative = method_registry().get(f.job.method).description().capabilities.iterative;
      std::string losses;
      if (iterative) losses = "; losses in " + (result.losses.empty() ? std::string("(none: --losses FILE)") : result.losses);
      std::fprintf(stderr, "wrote %s (%lldx%lld) in %.1f s: %s%s\n", written.c_str(), static_cast<long long>(result.width),
                   static_cast<long long>(result.height), result.seconds, result.detail.c_str(), losses.c_str());
    }
  });
  return cmd;
}

}  // namespace impasto::cli
