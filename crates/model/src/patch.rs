//! Three-state field updates: Klaviyo's "absent leaves unchanged, null clears".

/// How one field of a write changes the stored value.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Patch<T> {
    /// The field was not in the request: leave the stored value alone.
    #[default]
    Absent,
    /// The field was an explicit `null`: clear the stored value.
    Clear,
    /// The field carries a new value.
    Set(T),
}

impl<T> Patch<T> {
    pub fn is_absent(&self) -> bool {
        matches!(self, Patch::Absent)
    }

    /// The new value, if this patch sets one.
    pub fn set_value(&self) -> Option<&T> {
        match self {
            Patch::Set(v) => Some(v),
            _ => None,
        }
    }

    /// Applies the patch to a stored value.
    pub fn apply_to(self, current: &mut Option<T>) {
        match self {
            Patch::Absent => {}
            Patch::Clear => *current = None,
            Patch::Set(v) => *current = Some(v),
        }
    }
}
