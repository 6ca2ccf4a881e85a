// utils/loader: what every page's load leaves in its data, and the reload on show and on pull-down.
const loader = require('../../utils/loader');
const api = require('../../utils/api');

/** A stand-in page that keeps what setData receives, as the pages' data does. */
function fakePage(data = {}) {
  const calls = [];
  return {
    data: { loading: true, error: 'left from before', ...data },
    calls,
    setData(change) {
      calls.push(change);
      Object.assign(this.data, change);
    },
  };
}

test('a fetch that resolves lands in the data with loading off and the old error cleared, in one setData', async () => {
  const page = fakePage();
  await loader.load(page, async () => ({ view: { title: '第一课' }, notice: '' }));
  expect(page.calls).toEqual([{ loading: false, error: '', view: { title: '第一课' }, notice: '' }]);
});

test('a fetch that rejects leaves its message as the error and does not reject itself', async () => {
  const page = fakePage({ view: { title: '旧的' } });
  const err = new api.ApiError(0, 'network_error', '网络连接失败，请检查网络后重试');
  await expect(loader.load(page, async () => { throw err; })).resolves.toBeUndefined();
  expect(page.calls).toEqual([{ loading: false, error: '网络连接失败，请检查网络后重试' }]);
  expect(page.data.view).toEqual({ title: '旧的' });
});

test('reloading loads on show, and on a pull-down loads then stops the refresh indicator', async () => {
  const order = [];
  const page = {
    ...loader.reloading,
    load: () => { order.push('load'); return Promise.resolve().then(() => order.push('loaded')); },
  };
  const stop = jest.spyOn(wx, 'stopPullDownRefresh').mockImplementation(() => { order.push('stop'); });
  try {
    page.onShow();
    page.onPullDownRefresh();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(order).toEqual(['load', 'load', 'loaded', 'loaded', 'stop']);
    expect(stop).toHaveBeenCalledTimes(1);
  } finally {
    stop.mockRestore();
  }
});
