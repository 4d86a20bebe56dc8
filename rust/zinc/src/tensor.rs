// SPDX-License-Identifier: MIT
//! Tensor descriptions (DLPack-style, strides in bytes) and typed views of
//! a payload.

use std::fmt;

use zinc_sys as sys;

use crate::error::{check, Error, ErrorKind, Result};

/// An element type: DLPack code, bits and lanes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DType {
    /// `ZINC_DTYPE_INT`, `_UINT`, `_FLOAT` or `_BFLOAT`.
    pub code: u8,
    pub bits: u8,
    pub lanes: u16,
}

impl DType {
    pub const U8: DType = DType::new(sys::ZINC_DTYPE_UINT, 8);
    pub const U16: DType = DType::new(sys::ZINC_DTYPE_UINT, 16);
    pub const U32: DType = DType::new(sys::ZINC_DTYPE_UINT, 32);
    pub const U64: DType = DType::new(sys::ZINC_DTYPE_UINT, 64);
    pub const I8: DType = DType::new(sys::ZINC_DTYPE_INT, 8);
    pub const I16: DType = DType::new(sys::ZINC_DTYPE_INT, 16);
    pub const I32: DType = DType::new(sys::ZINC_DTYPE_INT, 32);
    pub const I64: DType = DType::new(sys::ZINC_DTYPE_INT, 64);
    pub const F16: DType = DType::new(sys::ZINC_DTYPE_FLOAT, 16);
    pub const F32: DType = DType::new(sys::ZINC_DTYPE_FLOAT, 32);
    pub const F64: DType = DType::new(sys::ZINC_DTYPE_FLOAT, 64);
    pub const BF16: DType = DType::new(sys::ZINC_DTYPE_BFLOAT, 16);

    /// A scalar type (1 lane).
    pub const fn new(code: u8, bits: u8) -> DType {
        DType { code, bits, lanes: 1 }
    }

    /// Bytes of one element (all lanes).
    pub fn size(&self) -> usize {
        self.bits as usize / 8 * self.lanes as usize
    }
}

/// A strided tensor view of a payload: element type, shape and strides in
/// bytes, and the byte offset of element [0, ..., 0]. `ndim` 0 means raw
/// bytes. A `Copy` wrapper of `zinc_tensor`.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Tensor(sys::zinc_tensor);

impl Tensor {
    /// `shape` and byte `strides` (same length, at most 4) of `dtype`
    /// elements starting `offset` bytes into the payload.
    pub fn new(dtype: DType, shape: &[u64], strides: &[i64], offset: u64) -> Result<Tensor> {
        if shape.len() != strides.len() || shape.len() > sys::ZINC_TENSOR_MAX_DIMS {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "tensor: {} dimensions and {} strides (at most {}, as many strides as dimensions)",
                    shape.len(),
                    strides.len(),
                    sys::ZINC_TENSOR_MAX_DIMS
                ),
            ));
        }
        let mut t = sys::zinc_tensor {
            dtype_code: dtype.code,
            dtype_bits: dtype.bits,
            dtype_lanes: dtype.lanes,
            ndim: shape.len() as u32,
            offset,
            ..Default::default()
        };
        t.shape[..shape.len()].copy_from_slice(shape);
        t.strides[..strides.len()].copy_from_slice(strides);
        Ok(Tensor(t))
    }

    /// A C-contiguous (row-major, packed) tensor of `shape`.
    pub fn contiguous(dtype: DType, shape: &[u64]) -> Result<Tensor> {
        let mut strides = [0i64; sys::ZINC_TENSOR_MAX_DIMS];
        let n = shape.len().min(sys::ZINC_TENSOR_MAX_DIMS);
        let mut step = dtype.size() as i64;
        for i in (0..n).rev() {
            strides[i] = step;
            step = step.saturating_mul(shape[i] as i64);
        }
        Tensor::new(dtype, shape, &strides[..n], 0)
    }

    pub fn from_raw(t: sys::zinc_tensor) -> Tensor {
        Tensor(t)
    }

    pub fn as_raw(&self) -> &sys::zinc_tensor {
        &self.0
    }

    pub fn dtype(&self) -> DType {
        DType { code: self.0.dtype_code, bits: self.0.dtype_bits, lanes: self.0.dtype_lanes }
    }

    /// Dimensions (0 for a raw frame).
    pub fn ndim(&self) -> usize {
        (self.0.ndim as usize).min(sys::ZINC_TENSOR_MAX_DIMS)
    }

    pub fn shape(&self) -> &[u64] {
        &self.0.shape[..self.ndim()]
    }

    /// Strides in bytes.
    pub fn strides(&self) -> &[i64] {
        &self.0.strides[..self.ndim()]
    }

    /// Byte offset of element [0, ..., 0] in the payload.
    pub fn offset(&self) -> u64 {
        self.0.offset
    }

    /// Bytes spanned from offset 0 (`zinc_tensor_span`).
    pub fn span(&self) -> u64 {
        // SAFETY: a valid pointer.
        unsafe { sys::zinc_tensor_span(&self.0) }
    }

    /// Whether every element lies within `size` bytes (`zinc_tensor_check`).
    pub fn check(&self, size: u64) -> Result<()> {
        // SAFETY: a valid pointer.
        check(unsafe { sys::zinc_tensor_check(&self.0, size) })
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tensor")
            .field("dtype", &self.dtype())
            .field("shape", &self.shape())
            .field("strides", &self.strides())
            .field("offset", &self.offset())
            .finish()
    }
}

mod sealed {
    pub trait Sealed {}
}

/// Plain element types a payload can be viewed as: every bit pattern is a
/// valid value, no padding. Sealed: implemented here for the integer and
/// float types only.
pub trait Element: sealed::Sealed + Copy + 'static {
    const DTYPE: DType;
}

macro_rules! element {
    ($($t:ty => $d:ident),*) => {$(
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const DTYPE: DType = DType::$d;
        }
    )*};
}
element!(u8 => U8, u16 => U16, u32 => U32, u64 => U64, i8 => I8, i16 => I16, i32 => I32,
         i64 => I64, f32 => F32, f64 => F64);

pub(crate) fn cast<T: Element>(b: &[u8]) -> Option<&[T]> {
    let sz = std::mem::size_of::<T>();
    if b.as_ptr() as usize % std::mem::align_of::<T>() != 0 || b.len() % sz != 0 {
        return None;
    }
    // SAFETY: aligned, in bounds, and T accepts every bit pattern (Element).
    Some(unsafe { std::slice::from_raw_parts(b.as_ptr() as *const T, b.len() / sz) })
}

pub(crate) fn cast_mut<T: Element>(b: &mut [u8]) -> Option<&mut [T]> {
    let sz = std::mem::size_of::<T>();
    if b.as_ptr() as usize % std::mem::align_of::<T>() != 0 || b.len() % sz != 0 {
        return None;
    }
    // SAFETY: as cast, and the borrow is exclusive.
    Some(unsafe { std::slice::from_raw_parts_mut(b.as_mut_ptr() as *mut T, b.len() / sz) })
}
