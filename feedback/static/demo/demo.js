// Demo chat: sends messages to the local responder and puts a <feedback-widget> under every answer.
import '/widget/v1/feedback-widget.mjs';

const form = document.getElementById('chat-form');
const input = document.getElementById('chat-input');
const list = document.getElementById('messages');
const status = document.getElementById('chat-status');

const randomId = () => Math.random().toString(36).slice(2) + Date.now().toString(36);
function stored(key) {
  try {
    let value = localStorage.getItem(key);
    if (!value) localStorage.setItem(key, (value = randomId()));
    return value;
  } catch {
    return randomId();
  }
}
const userId = 'demo-' + stored('demo-user');
const conversationId = 'conv-' + randomId();

function add(kind, text) {
  const item = document.createElement('div');
  item.className = 'msg msg-' + kind;
  const body = document.createElement('p');
  body.textContent = text;
  item.append(body);
  list.append(item);
  return item;
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const message = input.value.trim();
  if (!message) return;
  add('user', message);
  input.value = '';
  status.textContent = '';
  try {
    const answer = await fetch('/demo/chat', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ message, conversation_id: conversationId, end_user_id: userId }),
    });
    const data = await answer.json();
    if (!answer.ok) throw new Error(data.error ? data.error.message : 'HTTP ' + answer.status);
    const item = add('bot', data.response);
    const meta = document.createElement('p');
    meta.className = 'msg-meta';
    meta.textContent = 'Confidence ' + Math.round(data.confidence * 100) + ' %';
    const widget = document.createElement('feedback-widget');
    widget.setAttribute('user-id', userId);
    widget.setAttribute('rating-key', 'rating');
    widget.setAttribute('correction', '');
    widget.setAttribute('token', data.feedback_token);
    widget.setAttribute('response-id', String(data.interaction_id));
    item.append(meta, widget);
  } catch (error) {
    status.textContent = 'The responder failed: ' + error.message;
  }
});
