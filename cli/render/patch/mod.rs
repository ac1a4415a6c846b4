//! Strategic merge patch and JSON 6902 patch.
