// An ordinary Express app, written the way real apps are, with no Lattice code in it.
'use strict';
const express = require('express');

const app = express();
const api = express.Router();
const items = express.Router({ mergeParams: true });

items.route('/:itemId')
  .get((req, res) => res.json({ cart: req.params.cartId, item: req.params.itemId }))
  .delete((_req, res) => res.status(204).end());

api.use('/carts/:cartId/items', items);
api.get('/products/:sku', async (req, res, next) => {
  await new Promise((resolve) => setTimeout(resolve, 2));
  res.locals.body = { sku: req.params.sku };
  next();
});
api.get('/boom', (_req, _res, next) => next(new Error('boom')));
app.use('/api', api);
app.get('/health', (_req, res) => res.send('ok'));
app.use((req, res, next) => (res.locals.body ? res.json(res.locals.body) : next()));

const server = app.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
