//! Values crossing the backend seam: what a statement binds ([`Value`],
//! [`ToValue`]) and what a column reads as ([`ColumnRef`], [`FromColumn`]).
//! Both backends see the same five SQLite storage classes, so one Rust
//! type reads the same way from either (a PostgreSQL `bool` reads as 0/1,
//! a `numeric` sum as an integer or a float, as SQLite would give it).

use crate::error::{Error, Result};

/// A bound parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A 64-bit integer (flags are 0/1).
    Int(i64),
    /// A double.
    Real(f64),
    /// UTF-8 text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
}

/// Anything that binds as a [`Value`].
pub trait ToValue {
    /// The value bound for `self`.
    fn to_value(&self) -> Value;
}

impl ToValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToValue::to_value)
    }
}

macro_rules! int_value {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Value {
                Value::Int(*self as i64)
            }
        }
    )*};
}
int_value!(i64, i32, i16, u32, u16, u8, u64, usize);

impl ToValue for bool {
    fn to_value(&self) -> Value {
        Value::Int(i64::from(*self))
    }
}

impl ToValue for f64 {
    fn to_value(&self) -> Value {
        Value::Real(*self)
    }
}

impl ToValue for f32 {
    fn to_value(&self) -> Value {
        Value::Real(f64::from(*self))
    }
}

impl ToValue for str {
    fn to_value(&self) -> Value {
        Value::Text(self.to_string())
    }
}

impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}

impl ToValue for [u8] {
    fn to_value(&self) -> Value {
        Value::Blob(self.to_vec())
    }
}

impl ToValue for Vec<u8> {
    fn to_value(&self) -> Value {
        Value::Blob(self.clone())
    }
}

/// One column of a fetched row, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ColumnRef<'a> {
    /// SQL NULL.
    Null,
    /// An integer (a PostgreSQL `bool` as 0/1).
    Int(i64),
    /// A float.
    Real(f64),
    /// Text.
    Text(&'a str),
    /// Bytes.
    Blob(&'a [u8]),
}

impl ColumnRef<'_> {
    fn kind(&self) -> &'static str {
        match self {
            ColumnRef::Null => "NULL",
            ColumnRef::Int(_) => "an integer",
            ColumnRef::Real(_) => "a float",
            ColumnRef::Text(_) => "text",
            ColumnRef::Blob(_) => "bytes",
        }
    }

    /// The error for a column that holds the wrong kind of value.
    pub fn mismatch(&self, wanted: &str) -> Error {
        Error::StoredValue(format!("expected {wanted}, found {}", self.kind()))
    }

    /// The text of a text column.
    pub fn as_str(&self) -> Result<&str> {
        match self {
            ColumnRef::Text(s) => Ok(s),
            other => Err(other.mismatch("text")),
        }
    }
}

/// Reads one column into a Rust value.
pub trait FromColumn: Sized {
    /// Converts the column, or says what it held instead.
    fn from_column(column: ColumnRef<'_>) -> Result<Self>;
}

impl<T: FromColumn> FromColumn for Option<T> {
    fn from_column(column: ColumnRef<'_>) -> Result<Self> {
        match column {
            ColumnRef::Null => Ok(None),
            other => T::from_column(other).map(Some),
        }
    }
}

impl FromColumn for i64 {
    fn from_column(column: ColumnRef<'_>) -> Result<Self> {
        match column {
            ColumnRef::Int(i) => Ok(i),
            other => Err(other.mismatch("an integer")),
        }
    }
}

macro_rules! narrow_int {
    ($($t:ty),*) => {$(
        impl FromColumn for $t {
            fn from_column(column: ColumnRef<'_>) -> Result<Self> {
                let wide = i64::from_column(column)?;
                <$t>::try_from(wide).map_err(|_| {
                    Error::StoredValue(format!("{wide} is out of range for {}", stringify!($t)))
                })
            }
        }
    )*};
}
narrow_int!(i32, i16, u32, u16, u8, u64, usize);

impl FromColumn for bool {
    fn from_column(column: ColumnRef<'_>) -> Result<Self> {
        Ok(i64::from_column(column)? != 0)
    }
}

impl FromColumn for f64 {
    fn from_column(column: ColumnRef<'_>) -> Result<Self> {
        match column {
            ColumnRef::Real(x) => Ok(x),
            ColumnRef::Int(i) => Ok(i as f64),
            other => Err(other.mismatch("a number")),
        }
    }
}

impl FromColumn for String {
    fn from_column(column: ColumnRef<'_>) -> Result<Self> {
        column.as_str().map(str::to_string)
    }
}

impl FromColumn for Vec<u8> {
    fn from_column(column: ColumnRef<'_>) -> Result<Self> {
        match column {
            ColumnRef::Blob(b) => Ok(b.to_vec()),
            ColumnRef::Text(s) => Ok(s.as_bytes().to_vec()),
            other => Err(other.mismatch("bytes")),
        }
    }
}

/// A statement's parameters: `()`, `[a, b]`, [`params!`](crate::store::db::params) or a `Vec<Value>`.
pub trait Params {
    /// The values, in placeholder order.
    fn into_values(self) -> Vec<Value>;
}

impl Params for () {
    fn into_values(self) -> Vec<Value> {
        Vec::new()
    }
}

impl Params for Vec<Value> {
    fn into_values(self) -> Vec<Value> {
        self
    }
}

impl Params for &[&dyn ToValue] {
    fn into_values(self) -> Vec<Value> {
        self.iter().map(|v| v.to_value()).collect()
    }
}

impl Params for [&dyn ToValue; 0] {
    fn into_values(self) -> Vec<Value> {
        Vec::new()
    }
}

macro_rules! array_params {
    ($($n:literal),*) => {$(
        impl<T: ToValue> Params for [T; $n] {
            fn into_values(self) -> Vec<Value> {
                self.iter().map(ToValue::to_value).collect()
            }
        }
        impl<T: ToValue> Params for &[T; $n] {
            fn into_values(self) -> Vec<Value> {
                self.iter().map(ToValue::to_value).collect()
            }
        }
    )*};
}
array_params!(1, 2, 3, 4, 5, 6, 7, 8);

/// Binds every item of an iterator, like rusqlite's `params_from_iter`.
pub fn params_from_iter<I>(items: I) -> Vec<Value>
where
    I: IntoIterator,
    I::Item: ToValue,
{
    items.into_iter().map(|v| v.to_value()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_sqlite_would_give_them() {
        assert_eq!(f64::from_column(ColumnRef::Int(3)).unwrap(), 3.0);
        assert!(i64::from_column(ColumnRef::Real(3.0)).is_err());
        assert_eq!(u32::from_column(ColumnRef::Int(7)).unwrap(), 7);
        let err = u32::from_column(ColumnRef::Int(-1))
            .unwrap_err()
            .to_string();
        assert!(err.contains("-1 is out of range for u32"), "{err}");
        assert_eq!(Option::<i64>::from_column(ColumnRef::Null).unwrap(), None);
        assert!(bool::from_column(ColumnRef::Int(1)).unwrap());
        let err = String::from_column(ColumnRef::Int(1))
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected text, found an integer"), "{err}");
    }

    #[test]
    fn parameters_bind_in_order() {
        let name = String::from("ana");
        let values =
            crate::store::db::params![1_i64, Some(2.5), None::<i64>, name, true].into_values();
        assert_eq!(
            values,
            vec![
                Value::Int(1),
                Value::Real(2.5),
                Value::Null,
                Value::Text("ana".into()),
                Value::Int(1)
            ]
        );
        assert_eq!(["a", "b"].into_values().len(), 2);
        assert!([].into_values().is_empty());
    }
}
