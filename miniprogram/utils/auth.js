// Login and binding: silent wx.login for a bound member, the getPhoneNumber button on a first visit, and the
// Chinese explanation of each reason a phone cannot log in.
const api = require('./api');

const EXPLANATIONS = {
  not_bound: {
    title: '首次使用请绑定党员身份',
    text: '点击下方按钮授权手机号，系统将与支部党员名册核对后完成绑定，以后打开即自动登录。',
  },
  phone_not_in_roster: {
    title: '手机号不在党员名册中',
    text: '您授权的手机号没有出现在党员名册里。请联系支部书记核对名册中的手机号，更新后再来绑定。',
  },
  already_bound: {
    title: '该身份已绑定其他微信',
    text: '名册中这个手机号对应的党员已经绑定了另一个微信号。如更换了微信，请联系支部书记在管理后台解绑后重新绑定。',
  },
  member_inactive: {
    title: '账号已停用',
    text: '您的账号已被停用，暂时无法使用支部学习。如有疑问请联系支部书记。',
  },
  phone_refused: {
    title: '需要授权手机号',
    text: '只有授权手机号，系统才能在党员名册中找到您。手机号仅用于核对身份，不会公开。',
  },
};

/** The explanation shown on the login page for an error code, or null when the code needs none. */
function explain(code) {
  return EXPLANATIONS[code] || null;
}

/** Make sure there is a session: the stored one, or a silent login (rejects with not_bound on a first visit). */
async function ensureLogin() {
  if (api.token()) return api.currentMember();
  const result = await api.silentLogin();
  return result.member;
}

/** Bind on a first visit with the getPhoneNumber button's event detail. */
async function bindWithPhone(detail) {
  if (!detail || !detail.code) {
    throw new api.ApiError(0, 'phone_refused', EXPLANATIONS.phone_refused.text);
  }
  const result = await api.loginWithWeChat(detail.code);
  return result.member;
}

/** End this session on the server and forget it on the phone. */
async function logout() {
  try {
    await api.post('/auth/logout', {}, { retries: 0 });
  } finally {
    api.clearSession();
  }
}

/** Whether the member manages a branch (secretary) or a committee (admin). */
function isManager(member) {
  return !!member && (member.role === 'secretary' || member.role === 'admin');
}

module.exports = { explain, ensureLogin, bindWithPhone, logout, isManager };
