//! Slot extraction from one utterance. PLACEHOLDER: to be written.
