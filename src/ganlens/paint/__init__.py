"""Paint with a GAN's units: a GANPaint server and page (GAN Dissection, Bau et al., ICLR 2019).

``ganlens paint`` (:mod:`ganlens.commands.paint`) serves :func:`~ganlens.paint.app.create_app`
with uvicorn.
"""
