// rescan: reduction and scan primitives for state-space models and ranking, CPU backend.
// Any C++17 compiler; Eigen 3.4 and (optionally) OpenMP.
#pragma once

#include "rescan/version.hpp"

#include "rescan/core/backend.hpp"
#include "rescan/core/error.hpp"
#include "rescan/core/operators.hpp"
#include "rescan/core/view.hpp"
#include "rescan/core/eigen_view.hpp"

#include "rescan/scan/scan.hpp"
#include "rescan/scan/linear_recurrence.hpp"

#include "rescan/reduce/reduce.hpp"
#include "rescan/reduce/argmax.hpp"
#include "rescan/reduce/logsumexp.hpp"
#include "rescan/reduce/softmax.hpp"
#include "rescan/reduce/top_k.hpp"
