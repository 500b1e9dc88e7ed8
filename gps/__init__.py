"""gps: online prompt selection (GPS, MoPPS, DS, Uniform) for RL post-training, in JAX."""
