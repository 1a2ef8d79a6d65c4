"""Paint with a GAN's units: a GANPaint server and page (GAN Dissection, Bau et al., ICLR 2019).

``dissect.py paint`` serves :func:`~ganlens.paint.app.create_app` with uvicorn
(:func:`~ganlens.paint.command.run_paint`); :mod:`ganlens.paint.settings` holds its options and
imports only the standard library.
"""
