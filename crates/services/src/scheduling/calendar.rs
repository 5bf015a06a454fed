//! (Calendar views: being built.)
