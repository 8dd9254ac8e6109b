//! Transcript rendering and summary notes. PLACEHOLDER: to be written.
