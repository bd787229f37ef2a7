/// Cuts a list into numbered pages.
struct Page<Item> {
    var items: [Item]
    /// Records in the whole list.
    var totalEntries: Int
    /// `ceil(total / perPage)`: 0 for an empty list.
    var totalPages: Int
    /// Whether a page follows this one.
    var hasNext: Bool

    /// Page `index` (0-based) of `all` with `perPage` items per page. A page past the end is empty.
    init(of all: [Item], index: Int, perPage: Int) {
        let size = max(1, perPage)
        totalEntries = all.count
        totalPages = (all.count + size - 1) / size
        let start = max(0, index) * size
        items = start < all.count ? Array(all[start..<min(all.count, start + size)]) : []
        hasNext = start + size < all.count
    }
}
