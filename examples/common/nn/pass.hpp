// Whether a forward pass will be followed by a backward pass.
//   inference: nothing is kept; a backward pass after it throws.
//   training:  the layer keeps what its backward pass needs (inputs, activations, scan checkpoints).
#pragma once

namespace rescan_examples {

enum class pass { inference, training };

}  // namespace rescan_examples
