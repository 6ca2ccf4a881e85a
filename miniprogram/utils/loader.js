// How a page loads what it shows: one fetch whose result lands in the page's data with `loading` off and no
// `error`, or whose failure lands in `error` (the server's Chinese message) for the page's error block; and the
// tab pages that load again on every show and on a pull-down.

/**
 * Fetch and show: setData({loading: false, error: '', ...what fetch resolved}), or, when it rejects,
 * setData({loading: false, error: its message}). Never rejects.
 * @param {{setData: (data: Record<string, any>) => void}} page
 * @param {() => Promise<Record<string, any>>} fetch
 */
async function load(page, fetch) {
  try {
    page.setData({ loading: false, error: '', ...(await fetch()) });
  } catch (err) {
    page.setData({ loading: false, error: err.message });
  }
}

// The methods of a page that loads again on every show and on a pull-down: spread them into its methods, next to
// its own load() (which resolves when the load is done).
const reloading = {
  onShow() {
    this.load();
  },

  onPullDownRefresh() {
    this.load().then(() => wx.stopPullDownRefresh());
  },
};

module.exports = { load, reloading };
