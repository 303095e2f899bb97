//! Where things go for a terminal size. The arithmetic is the app's (it pages lists by
//! it): see [`crate::app::viewport`]; the view uses it to draw.

pub use crate::app::viewport::{
    CHECKLIST_HEIGHT, FOOTER_HEIGHT, HEADER_HEIGHT, MainLayout, TALL_HEIGHT, WIDE_WIDTH,
    is_compact, list_height, main_layout,
};
