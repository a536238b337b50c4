// Service B: one route.
'use strict';
const express = require('express');

const app = express();
app.get('/things/:id', (req, res) => res.json({ id: req.params.id }));
const server = app.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
