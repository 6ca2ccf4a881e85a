// 支部学习 mini-program. Pages are written with Component() (methods hold onLoad/onShow and the handlers), stay
// thin, and read everything through utils/api.js. The session is in wx storage, so the app holds no state.
const auth = require('./utils/auth');

App({
  onLaunch() {
    // Warm the session: a bound member is logged in before the first page asks; a first visit is sent to the
    // login page by the first call that needs a session.
    auth.ensureLogin().catch(() => {});
  },
});
