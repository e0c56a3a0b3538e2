// rescan: reduction and scan primitives for state-space models and ranking, CPU backend.
// Any C++17 compiler; Eigen 3.4 and (optionally) OpenMP. The algorithm headers (scan/, reduce/)
// hold only the front doors; a backend is used once its folder (cpu/, cuda/) is included.
#pragma once

#include "rescan/version.hpp"

#include "rescan/core/backend.hpp"
#include "rescan/core/error.hpp"
#include "rescan/core/operators.hpp"
#include "rescan/core/view.hpp"
#include "rescan/core/eigen_view.hpp"

#include "rescan/scan/scan.hpp"
#include "rescan/scan/linear_recurrence.hpp"
#include "rescan/scan/selective_scan.hpp"
#include "rescan/scan/selective_state_update.hpp"
#include "rescan/scan/bidirectional_selective_scan.hpp"

#include "rescan/reduce/reduce.hpp"
#include "rescan/reduce/argmax.hpp"
#include "rescan/reduce/logsumexp.hpp"
#include "rescan/reduce/softmax.hpp"
#include "rescan/reduce/top_k.hpp"

#include "rescan/merge/merge_options.hpp"
#include "rescan/merge/merge_plan.hpp"
#include "rescan/merge/bipartite_soft_matching.hpp"
#include "rescan/merge/merge.hpp"
#include "rescan/merge/merge_weighted.hpp"
#include "rescan/merge/unmerge.hpp"
#include "rescan/merge/merge_backward.hpp"
#include "rescan/merge/compose.hpp"
#include "rescan/merge/schedule.hpp"

#include "rescan/rank/rankdata.hpp"
#include "rescan/rank/kendall_tau.hpp"
#include "rescan/rank/spearman_rho.hpp"
#include "rescan/rank/top_order_agreement.hpp"
#include "rescan/rank/consistency_rate.hpp"

// The CPU backend: specializations of the algorithms' backend hooks for rescan::cpu_t.
#include "rescan/cpu/scan.hpp"
#include "rescan/cpu/reduce.hpp"
#include "rescan/cpu/top_k.hpp"
#include "rescan/cpu/merge.hpp"
#include "rescan/cpu/selective_scan.hpp"
#include "rescan/cpu/rank.hpp"
