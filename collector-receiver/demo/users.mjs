// Demo service "users" (ESM, Express 5, started with `node --import @lattice/otel-register`).
// Calls orders with node:http's http.request so both client instrumentations are exercised.
import express from 'express';
import http from 'node:http';

const port = Number(process.env.PORT);
const ordersUrl = new URL(process.env.ORDERS_URL);

function callOrders(method, path) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: ordersUrl.hostname, port: ordersUrl.port, method, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => { body += chunk; });
      res.on('end', () => resolve({ status: res.statusCode ?? 500, body: body ? JSON.parse(body) : null }));
    });
    req.on('error', reject);
    req.end();
  });
}

const app = express();
const router = express.Router();

// A nested router with router.route(): the route template must survive mounting.
router.route('/:id')
  .get((req, res) => {
    const id = Number(req.params.id);
    if (!Number.isInteger(id) || id <= 0) return res.status(400).json({ error: 'bad id' });
    if (id % 50 === 0) return res.status(404).json({ error: 'no such user' });
    res.json({ id, name: `user-${id}` });
  });

router.get('/:id/orders', async (req, res, next) => {
  try {
    const upstream = await callOrders('GET', `/orders?user=${encodeURIComponent(req.params.id)}`);
    res.locals.payload = { user: req.params.id, orders: upstream.body };
    res.locals.status = upstream.status;
    next(); // a generic middleware below sends the response
  } catch (err) {
    next(err);
  }
});

router.post('/:id/orders', async (req, res, next) => {
  try {
    const upstream = await callOrders('POST', `/orders?user=${encodeURIComponent(req.params.id)}`);
    res.status(upstream.status).json(upstream.body);
  } catch (err) {
    next(err);
  }
});

app.use('/users', router);
app.use((req, res, next) => {
  if (res.locals.payload === undefined) return next();
  res.status(res.locals.status ?? 200).json(res.locals.payload);
});

app.listen(port, '127.0.0.1', () => console.log(`[demo] users on :${port}`));
