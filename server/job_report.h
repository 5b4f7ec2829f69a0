#pragma once
// The report page of a finished job (GET /v1/jobs/{id}/report/): the inputs, the result, the loss
// curves and the final loss of every term and layer, written into <job>/report/ as index.html with
// its images beside it, so it opens offline too.
#include <string>

#include "impasto/core/json_options.h"

namespace impasto::server {

// `request` is the stored job request (file names, options), `summary` the public summary.
void write_job_report(const std::string& job_dir, const Json& request, const Json& summary);

std::string html_escape(const std::string& text);

}  // namespace impasto::server
