from otter.test_files import test_case

OK_FORMAT = False

name = "todo5"
points = 1

@test_case(points=None, hidden=False)
def test_todo5(define_model_2_conv):
    from hw5kit import public
    public.check_builder('define_model_2_conv', define_model_2_conv)

