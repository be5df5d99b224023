// Chinese for the messages that come from the Rust side (errors and call
// problems), keyed by their English text. `errorText()` in ../i18n.ts uses them:
// an exact message first, then a pattern for messages with names or numbers in
// them (a message of several parts, "…; …", is translated part by part), and failing both a headline for the error's code with the English
// detail after it. ui/tests/i18n.test.mjs checks that every fixed message the
// app's commands return is here and that every error code has a headline.

import type { ErrorCode } from "../bindings";

export const ZH_ERRORS: Record<string, string> = {
  "Start the microphone check before recording.": "请先开始麦克风检测，再录音。",
  "Fill in the server, your user name and your password.": "请填写服务器地址、用户名和密码。",
  "Your administrator turned off creating accounts here.": "管理员已关闭在此创建账号。",
  "Your sign-in has expired. Log in again.": "登录已过期，请重新登录。",
  "Your administrator turned off the built-in server.": "管理员已关闭内置服务器。",
  "A message needs 1 to 1000 bytes of text.": "消息需要 1 到 1000 字节的文字。",
  "The network test cannot run during a call: it would take the call's bandwidth. Run it after hanging up.":
    "通话中无法进行网络测试：它会占用通话的带宽。请在挂断后再测试。",
  "Sign in first: the network test measures the way to your Duet server.": "请先登录：网络测试测量的是到你的 Duet 服务器的线路。",
  "Check for updates first.": "请先检查更新。",
  "The connection closed while signing in.": "登录过程中连接已关闭。",
  "The connection to the server has ended. Log in again.": "与服务器的连接已断开，请重新登录。",
  "The server sent something other than the contact list.": "服务器返回的不是联系人列表。",
  "The server sent something other than the call history.": "服务器返回的不是通话记录。",
  "You are not signed in.": "你尚未登录。",
  "Your administrator installs new versions of Duet here.": "此处的 Duet 新版本由管理员安装。",
  "The system keyring did not answer (it may be locked, waiting for its password), so the sign-in cannot be remembered.":
    "系统钥匙串没有响应（可能已锁定，正在等待密码），因此无法记住登录。",
  "The server did not answer in time. Check the address and your network.": "服务器未及时响应。请检查地址和网络。",
  "Duet cannot reach the system keyring, so it cannot remember your sign-in. Start your desktop's keyring (GNOME Keyring or KWallet) or log in to a full desktop session, then sign in again.":
    "Duet 无法访问系统钥匙串，因此无法记住你的登录。请启动桌面的钥匙串服务（GNOME Keyring 或 KWallet），或登录完整的桌面会话，然后重新登录。",
  "This desktop shows no notifications, so an incoming call cannot be announced while Duet is in the background. Start your desktop's notification service (or install one, such as dunst); until then keep Duet's window open.":
    "此桌面无法显示通知，因此 Duet 在后台时无法提醒来电。请启动桌面的通知服务（或安装一个，例如 dunst）；在此之前请保持 Duet 窗口打开。",
  "No sound server is running, so calls will have no sound. Start your desktop's sound service (PipeWire or PulseAudio) or log in to a full desktop session, then call again.":
    "没有正在运行的声音服务，通话将没有声音。请启动桌面的声音服务（PipeWire 或 PulseAudio），或登录完整的桌面会话，然后再拨打。",
  // From the server and the engine.
  "Wrong user id or password.": "用户名或密码错误。",
  "Invalid token.": "登录凭据无效。",
  "The sign-in token is not valid.": "登录凭据无效。",
  "This account no longer exists.": "此账号已不存在。",
  "Not connected to the server; reconnecting.": "未连接到服务器，正在重新连接。",
  "The connection was closed.": "连接已关闭。",
  "There is no call to send the message in": "当前没有可发送消息的通话",
  "More than 30 messages in one second": "一秒内超过 30 条消息",
  "More than 8192 bytes in one second": "一秒内超过 8192 字节",
  "The message channel is not open": "消息通道尚未打开",
  // Parts of the device messages ("…; close it and try again; the call goes on without video").
  "The camera stopped": "摄像头已停止",
  "The call goes on without video": "通话继续，但没有视频",
  "The call goes on without your voice": "通话继续，但对方听不到你的声音",
  "The speaker was not changed": "扬声器未更换",
  "The microphone was not changed": "麦克风未更换",
  "The camera was not changed": "摄像头未更换",
  "Close it and try again": "请关闭它后重试",
  "Allow it in the system's privacy settings": "请在系统的隐私设置中允许",
};

/** Messages with a name, address or number in them: the English pattern and its Chinese, `$1`… for the parts. */
export const ZH_ERROR_PATTERNS: [RegExp, string][] = [
  [/^Cannot reach the server at (.+?): (.+)\.$/, "无法连接服务器 $1：$2。"],
  [/^The server at (.+) did not answer in time\.$/, "服务器 $1 未及时响应。"],
  [/^There is no user "(.+)" on this server\.$/, "此服务器上没有用户“$1”。"],
  [/^"(.+)" is not a user name(.*)\.$/, "“$1”不是有效的用户名。"],
  [/^Your administrator set Duet to sign in to (.+) only\.$/, "管理员已将 Duet 设置为只能登录 $1。"],
  [/^The built-in server could not start: (.+)\.$/, "内置服务器无法启动：$1。"],
  [/^The (\w+) level goes from 0 to 9, not (\d+)\.$/, "级别范围是 0 到 9，而不是 $2。"],
  [/^The ringtone cannot play: (.+)\.$/, "无法播放铃声：$1。"],
  [/^Version (.+) could not be installed: (.+)\.$/, "无法安装版本 $1：$2。"],
  [/^Message of (\d+) bytes is too large: at most 1000 bytes$/, "消息有 $1 字节，太长了：最多 1000 字节"],
  // Devices (seed 000's cases); $1 is the device.
  [/^The (camera|microphone|speaker) could not be started: (.+)$/, "$1无法启动：$2"],
  [/^Duet is not allowed to use the (camera|microphone|speaker)$/, "Duet 没有使用$1的权限"],
  [/^The (camera|microphone|speaker) is in use by another application$/, "$1正被其他应用占用"],
  [/^No (camera|microphone|speaker) was found$/, "未找到$1"],
];

/** Device names inside the patterns above. */
export const ZH_DEVICES: Record<string, string> = { camera: "摄像头", microphone: "麦克风", speaker: "扬声器" };

/** What went wrong, by code, when the message itself has no translation. */
export const ZH_HEADLINES: Record<ErrorCode, string> = {
  bad_input: "输入有误",
  unauthorized: "用户名、密码或凭据不被服务器接受",
  token_expired: "登录已过期，请重新登录",
  unreachable: "无法连接服务器",
  timeout: "服务器未及时响应",
  signed_out: "尚未登录",
  forbidden: "服务器拒绝了此操作",
  not_found: "未找到",
  keyring: "系统钥匙串无法保存登录",
  local_server: "内置服务器出错",
  device: "设备出错",
  policy: "管理员策略不允许",
  update: "更新失败",
  in_call: "通话中无法进行",
  notifications: "无法显示通知",
  audio: "没有声音服务",
  internal: "出错了",
};

/** What went wrong in a call, for problems without a code (a code names a device: -1301 camera …). */
export const ZH_CALL_PROBLEM = "通话出现问题";
