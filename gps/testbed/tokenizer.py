"""Character tokenizer shared by every task: three specials plus the task alphabet."""

import numpy as np

from gps.testbed.tasks.base import ALPHABET

PAD, BOS, EOS = 0, 1, 2
_SPECIALS = 3


class CharTokenizer:
    """Maps task strings to int ids; id 0 pads, 1 begins, 2 ends a sequence."""

    def __init__(self, alphabet: str = ALPHABET):
        self.alphabet = alphabet
        self._ids = {c: i + _SPECIALS for i, c in enumerate(alphabet)}

    @property
    def vocab_size(self) -> int:
        return len(self.alphabet) + _SPECIALS

    def encode(self, text: str) -> list[int]:
        try:
            return [self._ids[c] for c in text]
        except KeyError as e:
            raise ValueError(f"character {e.args[0]!r} is not in the tokenizer alphabet") from None

    def decode(self, ids) -> str:
        """Decodes up to the first EOS, skipping PAD and BOS."""
        chars = []
        for i in np.asarray(ids).tolist():
            if i == EOS:
                break
            if i >= _SPECIALS:
                chars.append(self.alphabet[i - _SPECIALS])
        return "".join(chars)

    def encode_prompts(self, prompts: list[str], length: int) -> tuple[np.ndarray, np.ndarray]:
        """BOS + prompt, right-padded to `length`: (tokens_NxL int32, lengths_N int32)."""
        tokens = np.full((len(prompts), length), PAD, np.int32)
        lengths = np.zeros(len(prompts), np.int32)
        for row, prompt in enumerate(prompts):
            ids = [BOS] + self.encode(prompt)
            if len(ids) > length:
                raise ValueError(f"prompt {prompt!r} is longer than the prompt buffer ({length})")
            tokens[row, : len(ids)] = ids
            lengths[row] = len(ids)
        return tokens, lengths

    def encode_demos(self, prompts: list[str], completions: list[str], length: int):
        """Teacher-forcing batch: BOS+prompt+completion+EOS, with a mask on completion tokens.

        Returns (tokens_NxL, loss_mask_NxL) where loss_mask[n, t] = 1 marks tokens[n, t]
        as a target predicted from position t-1.
        """
        tokens = np.full((len(prompts), length), PAD, np.int32)
        mask = np.zeros((len(prompts), length), np.float32)
        for row, (p, c) in enumerate(zip(prompts, completions)):
            head, tail = [BOS] + self.encode(p), self.encode(c) + [EOS]
            if len(head) + len(tail) > length:
                raise ValueError(f"demo {p!r}->{c!r} is longer than the sequence buffer ({length})")
            tokens[row, : len(head) + len(tail)] = head + tail
            mask[row, len(head) : len(head) + len(tail)] = 1.0
        return tokens, mask
