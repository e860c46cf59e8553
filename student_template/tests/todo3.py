from otter.test_files import test_case

OK_FORMAT = False

name = "todo3"
points = 1

@test_case(points=None, hidden=False)
def test_todo3(define_model_with_momentum):
    from hw5kit import public
    public.check_builder('define_model_with_momentum', define_model_with_momentum)

