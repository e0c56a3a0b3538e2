// What `cream run` shows and writes: its settings, one line per self-rewarding iteration, the two
// tables (accuracy per task; ranking consistency of M3 against M2), cream_results.json and the plots.
#pragma once

#include <iosfwd>
#include <string>

#include "cream_experiment.hpp"

namespace rescan_examples {

void print_settings(std::ostream& out, const cream_settings& settings, const cream_run_options& options,
                    const task_data& data);
void print_iteration(std::ostream& out, const iteration_record& record);
void print_tables(std::ostream& out, const cream_report& report);

// out_dir/cream_results.json (keys tasks, accuracy, consistency, iterations, phases, settings),
// out_dir/accuracy_per_iteration.png, out_dir/tau_distribution.png. Written atomically.
void write_cream_outputs(const std::string& out_dir, const cream_settings& settings, const cream_run_options& options,
                         const cream_report& report);

}  // namespace rescan_examples
