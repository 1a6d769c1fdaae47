// R survey's hadamard(n): which Hadamard matrix R picks for n pairs of PSUs, so
// that BRR and Fay replicates are R's, column for column.
#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "steppe/errors.hpp"
#include "steppe/replicate_weights.hpp"

namespace steppe {

namespace {

// Sizes of the matrices R stores (survey:::hadamard.sizes). 4 and 16 are
// Sylvester matrices, rebuilt below; 28 and 36 are not reproduced.
constexpr std::array<int64_t, 4> kStoredSizes = {4, 16, 28, 36};
// R's paley() builds from the primes p = 3 (mod 4) up to this bound (its small.primes).
constexpr int64_t kLargestPrime = 7919;
// Largest matrix built (entries): beyond this the replicate weights would not fit anyway.
constexpr int64_t kMaxEntries = int64_t{1} << 30;
constexpr int64_t kMaxSide = int64_t{1} << 15;  // kMaxSide^2 = kMaxEntries

/// Primes p = 3 (mod 4), 3 <= p <= 7919 (R's small.primes), by a sieve.
const std::vector<int64_t>& small_primes() {
  static const std::vector<int64_t> primes = [] {
    std::vector<uint8_t> composite(static_cast<size_t>(kLargestPrime) + 1, 0);
    std::vector<int64_t> out;
    for (int64_t i = 2; i <= kLargestPrime; ++i) {
      if (composite[static_cast<size_t>(i)]) continue;
      if (i % 4 == 3) out.push_back(i);
      for (int64_t k = i * i; k <= kLargestPrime; k += i) composite[static_cast<size_t>(k)] = 1;
    }
    return out;
  }();
  return primes;
}

bool is_small_prime(int64_t p) {
  const auto& primes = small_primes();
  return std::binary_search(primes.begin(), primes.end(), p);
}

HadamardMatrix allocate(int64_t size) {
  if (size * size > kMaxEntries) {
    throw InvalidInput("a " + std::to_string(size) + " x " + std::to_string(size) +
                       " Hadamard matrix is too large to build");
  }
  HadamardMatrix h;
  h.size = size;
  h.entries.assign(static_cast<size_t>(size * size), 0);
  return h;
}

/// R's stored 4 x 4 and 16 x 16 matrices: the Sylvester matrices, entry 1 where
/// the bitwise AND of the 0-based row and column has an even number of ones.
HadamardMatrix sylvester(int64_t size) {
  HadamardMatrix h = allocate(size);
  for (int64_t i = 0; i < size; ++i) {
    for (int64_t j = 0; j < size; ++j) {
      h.entries[static_cast<size_t>(i * size + j)] =
          std::popcount(static_cast<uint64_t>(i & j)) % 2 == 0 ? 1 : 0;
    }
  }
  return h;
}

/// R's hadamard.list[[k + 1]]; the 28 x 28 and 36 x 36 ones are refused.
HadamardMatrix stored(size_t k, int64_t n) {
  const int64_t size = kStoredSizes[k];
  if (size == 28 || size == 36) {
    throw InvalidInput("hadamard(" + std::to_string(n) +
                       "): R builds this matrix from its stored " + std::to_string(size) + " x " +
                       std::to_string(size) + " Hadamard matrix, which steppe does not reproduce");
  }
  return sylvester(size);
}

/// R's hadamard.doubler: [[H, H], [H, 1 - H]] (Sylvester 1867).
HadamardMatrix doubled(const HadamardMatrix& h) {
  const int64_t n = h.size;
  HadamardMatrix out = allocate(2 * n);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      const uint8_t v = h(i, j);
      out.entries[static_cast<size_t>(i * 2 * n + j)] = v;
      out.entries[static_cast<size_t>(i * 2 * n + n + j)] = v;
      out.entries[static_cast<size_t>((n + i) * 2 * n + j)] = v;
      out.entries[static_cast<size_t>((n + i) * 2 * n + n + j)] = static_cast<uint8_t>(1 - v);
    }
  }
  return out;
}

/// Paley's construction from a prime p = 3 (mod 4) (Paley 1933), in R's 0/1
/// form: first row and column 1; entry (i, j) of the rest is 0 when i + j
/// (mod p) is 0 or a quadratic residue, 1 otherwise.
HadamardMatrix paley_from_prime(int64_t p) {
  std::vector<uint8_t> residue(static_cast<size_t>(p), 0);
  residue[0] = 1;
  residue[1 % static_cast<size_t>(p)] = 1;
  for (int64_t i = 2; i <= (p - 1) / 2; ++i) residue[static_cast<size_t>((i * i) % p)] = 1;
  HadamardMatrix h = allocate(p + 1);
  const int64_t size = p + 1;
  for (int64_t j = 0; j < size; ++j) h.entries[static_cast<size_t>(j)] = 1;
  for (int64_t i = 0; i < p; ++i) {
    h.entries[static_cast<size_t>((i + 1) * size)] = 1;
    for (int64_t j = 0; j < p; ++j) {
      h.entries[static_cast<size_t>((i + 1) * size + j + 1)] =
          residue[static_cast<size_t>((i + j) % p)] ? 0 : 1;
    }
  }
  return h;
}

/// R's survey:::paley(n, nmax): a Paley matrix (perhaps doubled) with more than
/// n rows and at most about nmax, or nothing, by R's rules.
std::optional<HadamardMatrix> paley(int64_t n, int64_t nmax) {
  const int64_t nceil = n + 4 - n % 4;
  int64_t nn = nceil;
  if (n % 4 + 4 == n % 8) {
    // A size 8k + 4 ... with an odd part q + 1, q prime: Paley(q) doubled.
    while (nn % 8 == 0) nn /= 2;
    if (is_small_prime(nn - 1)) {
      HadamardMatrix m = paley_from_prime(nn - 1);
      while (nn < nceil) {
        m = doubled(m);
        nn *= 2;
      }
      return m;
    }
  }
  if (n > kLargestPrime) return std::nullopt;
  const auto& primes = small_primes();
  const int64_t p = *std::lower_bound(primes.begin(), primes.end(), n);
  if (p + 1 > nceil + 4 && nceil + 4 < nmax) return paley(nceil + 3, 2 * (nceil + 3));
  if (p > nmax) return std::nullopt;
  return paley_from_prime(p);
}

}  // namespace

HadamardMatrix hadamard(int64_t n) {
  if (n < 0) throw InvalidInput("hadamard(n) needs n >= 0, got " + std::to_string(n));
  if (n >= kMaxSide) {
    throw InvalidInput("hadamard(" + std::to_string(n) + "): too large to build (" +
                       std::to_string(n) + " pairs of PSUs)");
  }
  // R: m <- n - n %% 4; a stored matrix of size in (m, m + 4] is used as it is.
  const int64_t m = n - n % 4;
  for (size_t k = 0; k < kStoredSizes.size(); ++k) {
    if (m < kStoredSizes[k] && m + 4 >= kStoredSizes[k]) return stored(k, n);
  }
  // Otherwise each stored size doubled until it exceeds n; the closest wins,
  // unless it overshoots by more than 4 and a Paley matrix fits better.
  std::array<int64_t, 4> sizes{};
  std::array<int, 4> doublings{};
  for (size_t k = 0; k < kStoredSizes.size(); ++k) {
    // R: ceiling(log((n + 1) / size, 2)), log2 being exact at powers of two.
    const double exponent =
        std::ceil(std::log2(static_cast<double>(n + 1) / static_cast<double>(kStoredSizes[k])));
    doublings[k] = std::max(0, static_cast<int>(exponent));
    sizes[k] = kStoredSizes[k] << doublings[k];
  }
  size_t best = 0;
  for (size_t k = 1; k < sizes.size(); ++k) {
    if (sizes[k] - n < sizes[best] - n) best = k;
  }
  if (sizes[best] - n > 4) {
    if (auto h = paley(n, sizes[best])) return std::move(*h);
  }
  HadamardMatrix h = stored(best, n);
  for (int i = 0; i < doublings[best]; ++i) h = doubled(h);
  return h;
}

}  // namespace steppe
