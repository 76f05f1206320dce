//! Desktop notifications for notify (being written).
