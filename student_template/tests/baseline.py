from otter.test_files import test_case

OK_FORMAT = False

name = "baseline"
points = 0

@test_case(points=None, hidden=False)
def test_baseline(define_model, model, history):
    from hw5kit import public
    public.check_builder('define_model', define_model)
    public.check_variable('model', model, history)

